#include "osprey/api/http_front.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace osprey::api::internal {

using Clock = std::chrono::steady_clock;

namespace {

thread_local Clock::time_point t_request_start;
thread_local std::string t_token_name;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
}

// Sends all of `data`; false on error or when the deadline passes.
bool SendAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, RemainingMs(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

// A connection's two addresses, asked of the kernel once per connection
// rather than once per request.
struct Addresses {
  bool known = false;
  std::string remote_ip, local_ip;
  int remote_port = 0, local_port = 0;
};

// A finished request in memory for httplib to read; what httplib writes is
// buffered and sent in few packets.
class BufferStream : public httplib::Stream {
 public:
  static constexpr size_t kDirectWrite = 16 * 1024;
  BufferStream(int fd, const std::string& in, std::chrono::seconds timeout, Addresses& addresses)
      : fd_(fd), in_(in), timeout_(timeout), addresses_(addresses) {
    if (addresses_.known) return;
    addresses_.known = true;
    sockaddr_storage a{};
    socklen_t len = sizeof(a);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      Describe(a, addresses_.remote_ip, addresses_.remote_port);
    }
    len = sizeof(a);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      Describe(a, addresses_.local_ip, addresses_.local_port);
    }
  }

  bool is_readable() const override { return off_ < in_.size(); }
  bool is_writable() const override { return ok_; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, in_.size() - off_);
    std::copy_n(in_.data() + off_, n, ptr);
    off_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    // A large body (a list page) goes out from where it is, not copied.
    if (size >= kDirectWrite) {
      if (!Flush()) return -1;
      ok_ = SendAll(fd_, std::string_view(ptr, size), Clock::now() + timeout_);
      return ok_ ? static_cast<ssize_t>(size) : -1;
    }
    out_.append(ptr, size);
    if (out_.size() >= 64 * 1024 && !Flush()) return -1;
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = addresses_.remote_ip;
    port = addresses_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = addresses_.local_ip;
    port = addresses_.local_port;
  }
  socket_t socket() const override { return fd_; }

  bool Flush() {
    if (ok_ && !out_.empty()) ok_ = SendAll(fd_, out_, Clock::now() + timeout_);
    out_.clear();
    return ok_;
  }

 private:
  static void Describe(const sockaddr_storage& a, std::string& ip, int& port) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
      ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
      port = ntohs(v4->sin_port);
    } else if (a.ss_family == AF_INET6) {
      const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
      ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
      port = ntohs(v6->sin6_port);
    }
    ip = buf;
  }

  const int fd_;
  const std::string& in_;
  const std::chrono::seconds timeout_;
  Addresses& addresses_;
  size_t off_ = 0;
  std::string out_;
  bool ok_ = true;
};

}  // namespace

struct FrontServer::Conn {
  int fd = -1;
  std::string in;  // received, not yet consumed
  Clock::time_point idle_since;
  Addresses addresses;
};

namespace {

// What reading one request gave.
struct Read {
  enum Kind { kRequest, kGone, kRefused } kind = kGone;
  std::string request;  // kRequest: the request, re-framed with Content-Length
  int status = 0;       // kRefused: the status to answer
  std::string detail;   // kRefused: why
  std::string method, path;
};

class RequestReader {
 public:
  RequestReader(FrontServer::Conn& conn, const FrontLimits& limits)
      : c_(conn), limits_(limits), deadline_(Clock::now() + limits.io_timeout) {}

  Read Next() {
    Read r;
    // Empty lines before a request are allowed (RFC 9112 2.2).
    size_t head_end = std::string::npos;
    for (;;) {
      while (c_.in.starts_with("\r\n")) c_.in.erase(0, 2);
      head_end = c_.in.find("\r\n\r\n");
      if (head_end != std::string::npos) break;
      const size_t line_end = c_.in.find("\r\n");
      if ((line_end == std::string::npos ? c_.in.size() : line_end) > limits_.max_request_line) {
        SetTarget(r);
        return Refuse(r, 414,
                      fmt::format("the request line is longer than {} bytes", limits_.max_request_line));
      }
      if (c_.in.size() > limits_.max_head) return HeadTooLarge(r);
      if (!Receive()) return r;  // closed or timed out before a whole head: nothing to answer
    }
    SetTarget(r);
    const size_t first_end = c_.in.find("\r\n");
    if (first_end > limits_.max_request_line) {
      return Refuse(r, 414,
                    fmt::format("the request line is longer than {} bytes", limits_.max_request_line));
    }
    if (head_end + 4 > limits_.max_head) return HeadTooLarge(r);

    // The header fields: framing ones are taken out, the rest passed on.
    std::string head = c_.in.substr(0, first_end + 2);
    std::optional<std::string> length, coding;
    bool expect_continue = false;
    size_t fields = 0;
    for (size_t at = first_end + 2; at < head_end + 2;) {
      const size_t end = c_.in.find("\r\n", at);
      std::string_view line(c_.in.data() + at, end - at);
      at = end + 2;
      if (line.size() > limits_.max_header_line) {
        return Refuse(r, 431, fmt::format("a header field is longer than {} bytes", limits_.max_header_line));
      }
      if (++fields > limits_.max_headers) {
        return Refuse(r, 431, fmt::format("more than {} header fields", limits_.max_headers));
      }
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return Refuse(r, 400, "a header field without a name and ':'");
      }
      const std::string name = Lower(line.substr(0, colon));
      const std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-length") {
        if (length && *length != value) return Refuse(r, 400, "conflicting Content-Length fields");
        length = std::string(value);
      } else if (name == "transfer-encoding") {
        coding = coding ? *coding + "," + std::string(value) : std::string(value);
      } else if (name == "content-encoding" && Lower(value) != "identity") {
        return Refuse(r, 415,
                      fmt::format("content coding '{}' is not accepted; send the body "
                                  "uncompressed",
                                  value));
      } else if (name == "expect") {
        expect_continue = Lower(value) == "100-continue";
      } else if (name == "content-type" && Lower(value).starts_with("application/x-www-form-urlencoded")) {
        // No endpoint takes form data: a body is JSON or YAML whatever its
        // type says (curl -d sends this type), and query parameters come
        // from the URL only, never from the body.
        head += "Content-Type: application/octet-stream\r\n";
      } else {
        head.append(line);
        head += "\r\n";
      }
    }
    c_.in.erase(0, head_end + 4);

    std::string body;
    if (coding) {
      if (length) return Refuse(r, 400, "both Content-Length and Transfer-Encoding are set");
      if (Lower(Trim(*coding)) != "chunked") {
        return Refuse(r, 501,
                      fmt::format("transfer coding '{}' is not supported; send the body "
                                  "plain or chunked",
                                  Trim(*coding)));
      }
      if (expect_continue && !Continue()) return r;
      if (auto refused = ReadChunked(r, body)) return *refused;
    } else if (length) {
      uint64_t n = 0;
      if (length->empty() || length->size() > 18 ||
          !std::all_of(length->begin(), length->end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        return Refuse(r, 400, "Content-Length is not a number");
      }
      n = std::stoull(*length);
      if (n > limits_.max_body) return BodyTooLarge(r);
      if (expect_continue && n > 0 && c_.in.empty() && !Continue()) return r;
      while (c_.in.size() < n) {
        if (!Receive()) return r;
      }
      body = c_.in.substr(0, n);
      c_.in.erase(0, n);
    }
    if (coding || length) head += fmt::format("Content-Length: {}\r\n", body.size());
    head += "\r\n";
    r.kind = Read::kRequest;
    r.request = std::move(head);
    r.request += body;
    return r;
  }

 private:
  // Reads more input; false when the peer closed, an error, or the deadline.
  bool Receive() {
    char buf[16 * 1024];
    for (;;) {
      ssize_t n = ::recv(c_.fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        c_.in.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      pollfd p{c_.fd, POLLIN, 0};
      if (::poll(&p, 1, RemainingMs(deadline_)) <= 0) return false;
    }
  }

  bool Continue() { return SendAll(c_.fd, "HTTP/1.1 100 Continue\r\n\r\n", deadline_); }

  // One CRLF-terminated line of at most `max` bytes, consumed; nullopt when
  // the input ended or the line is too long (`too_long` says which).
  std::optional<std::string> Line(size_t max, bool& too_long) {
    for (;;) {
      const size_t end = c_.in.find("\r\n");
      if (end != std::string::npos && end <= max) {
        std::string line = c_.in.substr(0, end);
        c_.in.erase(0, end + 2);
        return line;
      }
      if ((end == std::string::npos ? c_.in.size() : end) > max) {
        too_long = true;
        return std::nullopt;
      }
      if (!Receive()) return std::nullopt;
    }
  }

  // Decodes a chunked body into `body`; a refusal, or nullopt when done (or
  // the peer went away: then `r` stays kGone and `body` is partial).
  std::optional<Read> ReadChunked(Read& r, std::string& body) {
    constexpr size_t kMaxChunkLine = 1024;
    size_t trailer_bytes = 0;
    for (;;) {
      bool too_long = false;
      auto line = Line(kMaxChunkLine, too_long);
      if (!line) {
        if (too_long) return Refuse(r, 400, "a chunk-size line is too long");
        return r;
      }
      std::string_view size_text = Trim(std::string_view(*line).substr(0, line->find(';')));
      if (size_text.empty() || size_text.size() > 15 ||
          !std::all_of(size_text.begin(), size_text.end(),
                       [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; })) {
        return Refuse(r, 400, "a chunk size is not a hexadecimal number");
      }
      const uint64_t size = std::stoull(std::string(size_text), nullptr, 16);
      if (size == 0) break;
      if (size > limits_.max_body - std::min(limits_.max_body, body.size())) return BodyTooLarge(r);
      while (c_.in.size() < size + 2) {
        if (!Receive()) return r;
      }
      if (c_.in.compare(size, 2, "\r\n") != 0) return Refuse(r, 400, "a chunk does not end in CRLF");
      body.append(c_.in, 0, size);
      c_.in.erase(0, size + 2);
    }
    // Trailer fields, dropped; they count against the header limit.
    for (;;) {
      bool too_long = false;
      auto line = Line(limits_.max_header_line, too_long);
      if (!line) {
        if (too_long) {
          return Refuse(r, 431,
                        fmt::format("a trailer field is longer than {} bytes", limits_.max_header_line));
        }
        return r;
      }
      if (line->empty()) return std::nullopt;
      trailer_bytes += line->size() + 2;
      if (trailer_bytes > limits_.max_head) return HeadTooLarge(r);
    }
  }

  void SetTarget(Read& r) const {
    const std::string_view line(c_.in.data(), std::min(c_.in.size(), c_.in.find("\r\n")));
    const size_t sp = line.find(' ');
    r.method = std::string(line.substr(0, std::min<size_t>(sp, 16)));
    if (sp == std::string_view::npos) return;
    std::string_view target = line.substr(sp + 1);
    target = target.substr(0, target.find_first_of(" ?"));
    // The path only, never the query string, and not all of an oversized one.
    r.path = std::string(target.substr(0, 256));
  }
  Read Refuse(Read& r, int status, std::string detail) const {
    r.kind = Read::kRefused;
    r.status = status;
    r.detail = std::move(detail);
    return r;
  }
  Read HeadTooLarge(Read& r) const {
    return Refuse(
        r, 431, fmt::format("the request line and header fields are larger than {} bytes", limits_.max_head));
  }
  Read BodyTooLarge(Read& r) const {
    return Refuse(
        r, 413,
        fmt::format("the request body is larger than the server accepts ({} bytes)", limits_.max_body));
  }

  FrontServer::Conn& c_;
  const FrontLimits& limits_;
  const Clock::time_point deadline_;
};

std::string_view Reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    default: return "Error";
  }
}

std::string_view Slug(int status) {
  switch (status) {
    case 413: return "too-large";
    case 414: return "uri-too-long";
    case 415: return "unsupported-media-type";
    case 431: return "header-fields-too-large";
    case 501: return "not-implemented";
    default: return "invalid-request";
  }
}

}  // namespace

FrontServer::FrontServer(size_t threads, FrontLimits limits, std::function<void(const AccessEntry&)> log)
    : limits_(limits), log_(std::move(log)) {
  new_task_queue = [this, threads] {
    auto* q = new httplib::ThreadPool(threads);
    queue_ = q;
    return q;
  };
  set_tcp_nodelay(true);
  set_payload_max_length(limits.max_body);
  set_keep_alive_timeout(limits.idle_timeout.count());
}

FrontServer::~FrontServer() { StopWatcher(); }

std::chrono::steady_clock::time_point FrontServer::RequestStart() { return t_request_start; }
void FrontServer::SetTokenName(const std::string& name) { t_token_name = name; }
const std::string& FrontServer::TokenName() { return t_token_name; }

void FrontServer::StartWatcher() {
  std::lock_guard<std::mutex> lock(mu_);
  if (watching_) return;
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  watching_ = epoll_fd_ >= 0;
  if (watching_) watcher_ = std::thread([this] { WatchLoop(); });
}

void FrontServer::StopWatcher() {
  std::map<int, std::shared_ptr<Conn>> idle;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watching_ = false;
    idle.swap(idle_);
  }
  if (watcher_.joinable()) watcher_.join();
  for (auto& [fd, conn] : idle) Close(*conn);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  epoll_fd_ = -1;
}

bool FrontServer::process_and_close_socket(socket_t sock) {
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto conn = std::make_shared<Conn>();
  conn->fd = sock;
  Serve(std::move(conn));
  return true;
}

void FrontServer::Close(Conn& conn) {
  if (conn.fd < 0) return;
  ::shutdown(conn.fd, SHUT_RDWR);
  ::close(conn.fd);
  conn.fd = -1;
}

void FrontServer::Serve(std::shared_ptr<Conn> conn) {
  for (;;) {
    t_request_start = Clock::now();
    t_token_name.clear();
    Read r = RequestReader(*conn, limits_).Next();
    if (r.kind == Read::kGone) return Close(*conn);
    if (r.kind == Read::kRefused) {
      nlohmann::json p = {{"type", fmt::format("urn:osprey:problem:{}", Slug(r.status))},
                          {"title", Reason(r.status)},
                          {"status", r.status},
                          {"detail", r.detail},
                          {"instance", r.path}};
      const std::string body = p.dump();
      const std::string reply = fmt::format(
          "HTTP/1.1 {} {}\r\nContent-Type: application/problem+json\r\nContent-Length: {}\r\n"
          "Connection: close\r\n\r\n{}",
          r.status, Reason(r.status), body.size(), body);
      const auto deadline = Clock::now() + limits_.io_timeout;
      SendAll(conn->fd, reply, deadline);
      if (log_) {
        log_({r.method, r.path, r.status, body.size(),
              std::chrono::duration<double>(Clock::now() - t_request_start).count(), ""});
      }
      // Read (and drop) what the client is still sending for a moment, so it
      // sees the answer instead of a reset.
      ::shutdown(conn->fd, SHUT_WR);
      const auto linger_until = Clock::now() + std::chrono::seconds(1);
      size_t drained = 0;
      char buf[16 * 1024];
      while (drained < (16u << 20)) {
        pollfd pfd{conn->fd, POLLIN, 0};
        if (::poll(&pfd, 1, RemainingMs(linger_until)) <= 0) break;
        ssize_t n = ::recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) break;
        drained += static_cast<size_t>(n);
      }
      return Close(*conn);
    }
    BufferStream stream(conn->fd, r.request, limits_.io_timeout, conn->addresses);
    bool connection_closed = false;
    const bool ok = process_request(stream, /*close_connection=*/false, connection_closed, nullptr);
    if (!stream.Flush() || !ok || connection_closed) return Close(*conn);
    if (conn->in.empty()) return Park(std::move(conn));
    // A pipelined request is buffered already: serve it now.
  }
}

void FrontServer::Park(std::shared_ptr<Conn> conn) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!watching_) {
    lock.unlock();
    return Close(*conn);
  }
  const int fd = conn->fd;
  conn->idle_since = Clock::now();
  idle_[fd] = conn;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    idle_.erase(fd);
    lock.unlock();
    Close(*conn);
  }
}

void FrontServer::WatchLoop() {
  std::vector<epoll_event> events(64);
  auto last_sweep = Clock::now();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!watching_) return;
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 200);
    std::vector<std::shared_ptr<Conn>> ready, expired;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!watching_) return;
      for (int i = 0; i < n; ++i) {
        auto it = idle_.find(events[static_cast<size_t>(i)].data.fd);
        if (it == idle_.end()) continue;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
        ready.push_back(std::move(it->second));
        idle_.erase(it);
      }
      const auto now = Clock::now();
      if (now - last_sweep >= std::chrono::seconds(1)) {
        last_sweep = now;
        for (auto it = idle_.begin(); it != idle_.end();) {
          if (now - it->second->idle_since < limits_.idle_timeout) {
            ++it;
            continue;
          }
          ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
          expired.push_back(std::move(it->second));
          it = idle_.erase(it);
        }
      }
    }
    for (auto& conn : expired) Close(*conn);
    httplib::TaskQueue* queue = queue_.load();
    for (auto& conn : ready) {
      if (queue == nullptr) {
        Close(*conn);
        continue;
      }
      queue->enqueue([this, conn]() mutable { Serve(std::move(conn)); });
    }
  }
}

}  // namespace osprey::api::internal
