// The real Transport: libcurl (one easy handle per request, no redirects, no
// signals) and fork/exec with a pipe to stdin and a deadline.
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "osprey/alerts/transport.h"

namespace osprey::alerts {
namespace {

constexpr size_t kMaxResponseBody = 4096;

size_t KeepBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t total = size * n;
  if (body->size() < kMaxResponseBody) {
    body->append(data, std::min(total, kMaxResponseBody - body->size()));
  }
  return total;
}

class SystemTransport final : public Transport {
 public:
  SystemTransport() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Result<HttpResponse> Post(const HttpRequest& r) override {
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Unavailable("cannot create an HTTP client (curl_easy_init failed)");
    curl_slist* raw_headers = nullptr;
    for (const auto& [name, value] : r.headers) {
      raw_headers = curl_slist_append(raw_headers, fmt::format("{}: {}", name, value).c_str());
    }
    raw_headers = curl_slist_append(raw_headers, "Expect:");
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(raw_headers, curl_slist_free_all);
    HttpResponse response;
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout_ms));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
    const CURLcode rc = curl_easy_perform(c);
    // curl_easy_strerror names the failure without the URL (which may hold a token).
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return DeadlineExceeded(fmt::format("HTTP request timed out: {}", curl_easy_strerror(rc)));
    }
    if (rc != CURLE_OK) return Unavailable(fmt::format("HTTP request failed: {}", curl_easy_strerror(rc)));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    response.status = status;
    return response;
  }

  Result<int> RunCommand(const CommandRequest& r) override {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return Unavailable("cannot create a pipe for the command");
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(in[0]);
      ::close(in[1]);
      return Unavailable("cannot fork to run the command");
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(in[0], STDIN_FILENO);
      ::execl("/bin/sh", "sh", "-c", r.command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.timeout_ms);
    auto remaining_ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                   std::chrono::steady_clock::now())
          .count();
    };
    // Write stdin without blocking past the deadline; a command that exits
    // without reading it is fine (EPIPE).
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    size_t written = 0;
    bool timed_out = false;
    while (written < r.input.size()) {
      const ssize_t n = ::write(in[1], r.input.data() + written, r.input.size() - written);
      if (n > 0) {
        written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        if (remaining_ms() <= 0) {
          timed_out = true;
          break;
        }
        pollfd p{in[1], POLLOUT, 0};
        ::poll(&p, 1, static_cast<int>(std::min<int64_t>(remaining_ms(), 100)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // EPIPE: the command closed its stdin
    }
    ::close(in[1]);
    // Consume a SIGPIPE raised by our write, then restore the mask.
    timespec zero{0, 0};
    while (sigtimedwait(&block, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    int status = 0;
    while (true) {
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR) return Unavailable("lost track of the command's process");
      if (timed_out || remaining_ms() <= 0) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return DeadlineExceeded(
            fmt::format("the command ran longer than {} ms and was killed", r.timeout_ms));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return Unavailable(fmt::format("the command died from signal {}", WTERMSIG(status)));
  }
};

}  // namespace

std::unique_ptr<Transport> NewSystemTransport() { return std::make_unique<SystemTransport>(); }

}  // namespace osprey::alerts
