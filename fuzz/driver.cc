// A main for the fuzz targets when they are built without libFuzzer (GCC,
// the default build): runs LLVMFuzzerTestOneInput over a seed corpus, then
// over inputs mutated from it by a fixed-seed generator (bit flips, byte
// inserts, deletes and overwrites, chunk copies, splices of two inputs, a
// chunk stretched into a field of up to 1 MiB), and seeds with a 1 MiB run in
// their middle (one at least, more within half the time bound), so
// that every ctest run repeats the same few thousand cases in a few seconds.
// Coverage-guided fuzzing is `make fuzz` (clang + libFuzzer); see
// docs/fuzzing.md.
//
//   fuzz_<target> CORPUS_DIR_OR_FILE... [--runs N] [--max-seconds S] [--seed X]
//
// On a crash (a failed FUZZ_CHECK, a sanitizer report, a signal, a run over
// 20 s of CPU time) the input
// is written to ./crash-<target>-<run> and its path printed, so it can be
// added to fuzz/corpus/<target>/ once the parser is fixed.
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// The input being run, for the crash handler.
const std::string* g_current = nullptr;
char g_crash_path[512] = "";

void OnCrash(int sig) {
  if (g_current != nullptr && g_crash_path[0] != '\0') {
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t ignored = ::write(fd, g_current->data(), g_current->size());
      (void)ignored;
      ::close(fd);
      const char msg[] = "\nfuzz driver: the crashing input was written to ";
      ignored = ::write(2, msg, sizeof msg - 1);
      ignored = ::write(2, g_crash_path, std::strlen(g_crash_path));
      ignored = ::write(2, "\n", 1);
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// CPU seconds one input may take (libFuzzer's -timeout in make fuzz is 10 s
// of wall time); CPU time, so that a loaded machine does not trip it.
constexpr int kRunCpuSeconds = 20;

void Run(const std::string& input, const std::string& target, uint64_t run) {
  g_current = &input;
  std::snprintf(g_crash_path, sizeof g_crash_path, "crash-%s-%llu", target.c_str(),
                static_cast<unsigned long long>(run));
  itimerval limit{};
  limit.it_value.tv_sec = kRunCpuSeconds;
  ::setitimer(ITIMER_VIRTUAL, &limit, nullptr);
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  limit.it_value.tv_sec = 0;
  ::setitimer(ITIMER_VIRTUAL, &limit, nullptr);
  g_current = nullptr;
}

// The largest input tried: the API's body limit (1 MiB).
constexpr size_t kMaxInput = 1 << 20;

// Bytes that matter to the parsers here (structure of YAML, JSON, CSV,
// cron, timestamps, durations), so mutations reach past the first check.
constexpr char kInteresting[] = ",;\"'\n\r\t :{}[]-+*/?#.TZPWYMDHS0123456789eE\\%&=";

std::string Mutate(std::string s, const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const int steps = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < steps; ++i) {
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!s.empty()) {
          const size_t at = below(s.size());
          s[at] = static_cast<char>(static_cast<unsigned char>(s[at]) ^ (1u << (rng() % 8)));
        }
        break;
      case 1:  // insert a byte, often a structural one
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(below(s.size() + 1)),
                 rng() % 2 ? kInteresting[below(sizeof kInteresting - 1)] : static_cast<char>(rng() & 0xff));
        break;
      case 2: {  // delete a few bytes
        if (s.empty()) break;
        const size_t at = below(s.size());
        s.erase(at, 1 + below(std::min<size_t>(8, s.size() - at)));
        break;
      }
      case 3:  // overwrite a byte
        if (!s.empty()) s[below(s.size())] = kInteresting[below(sizeof kInteresting - 1)];
        break;
      case 4: {  // copy a chunk elsewhere
        if (s.empty()) break;
        const size_t from = below(s.size());
        const size_t len = 1 + below(std::min<size_t>(32, s.size() - from));
        const std::string chunk = s.substr(from, len);
        s.insert(below(s.size() + 1), chunk);
        break;
      }
      case 5: {  // splice: this input's head, another's tail
        const std::string& other = corpus[below(corpus.size())];
        s = s.substr(0, below(s.size() + 1)) + other.substr(below(other.size() + 1));
        break;
      }
      case 6:  // an extreme digit run, for numeric overflow
        s.insert(below(s.size() + 1), std::string(1 + below(24), rng() % 2 ? '9' : '0'));
        break;
      default: {  // stretch: a short chunk repeated into a long field (up to the limit)
        if (s.empty()) break;
        const size_t from = below(s.size());
        const std::string chunk = s.substr(from, 1 + below(std::min<size_t>(8, s.size() - from)));
        const size_t target = rng() % 2 ? 30 * 1024 : below(kMaxInput);
        std::string run;
        while (run.size() + chunk.size() <= target) run += chunk;
        s.insert(from, run);
        break;
      }
    }
  }
  if (s.size() > kMaxInput) s.resize(kMaxInput);
  return s;
}

// The input with a 1 MiB run of one letter in its middle: every target sees
// a field of the largest size at least once per corpus input.
std::string Stretched(const std::string& s) {
  std::string out = s.substr(0, s.size() / 2);
  out += std::string(kMaxInput - std::min(kMaxInput, s.size()), 'a');
  out += s.substr(s.size() / 2);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 4000, seed = 20240601;
  double max_seconds = 8;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--max-seconds" && i + 1 < argc) {
      max_seconds = std::strtod(argv[++i], nullptr);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (fs::is_directory(a)) {
      for (const auto& e : fs::directory_iterator(a)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else if (fs::is_regular_file(a)) {
      files.emplace_back(a);
    } else {
      std::fprintf(stderr,
                   "usage: %s CORPUS... [--runs N] [--max-seconds S] [--seed X]\n"
                   "no such corpus file or directory: %s\n",
                   argv[0], a.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());  // the same order on every machine
  const std::string target = fs::path(argv[0]).filename().string();
  for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGVTALRM}) ::signal(sig, OnCrash);

  std::vector<std::string> corpus;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) corpus.emplace_back();
  const auto start = std::chrono::steady_clock::now();
  uint64_t run = 0;
  for (const auto& input : corpus) Run(input, target, run++);
  // Stretched seeds: at least one, then as many as the time bound allows.
  uint64_t stretched = 0;
  for (const auto& input : corpus) {
    if (stretched > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds / 2) {
      break;
    }
    Run(Stretched(input), target, run++);
    ++stretched;
  }

  std::mt19937_64 rng(seed);
  uint64_t mutated = 0;
  for (; mutated < runs; ++mutated) {
    // The clock is read before every run: with inputs up to 1 MiB a run can
    // take a good part of a second.
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > max_seconds) {
      break;
    }
    Run(Mutate(corpus[rng() % corpus.size()], corpus, rng), target, run++);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: %zu corpus inputs (%llu also stretched to 1 MiB) and %llu mutations (seed %llu) "
      "in %.1f s, no crash\n",
      target.c_str(), corpus.size(), static_cast<unsigned long long>(stretched),
      static_cast<unsigned long long>(mutated), static_cast<unsigned long long>(seed), secs);
  return 0;
}
