// Test-only: a tiny HTTP/1.1 server on a free 127.0.0.1 port, enough to
// receive webhook POSTs: it records each request and answers with whatever
// the test's responder says (a status, or no answer at all). Stop()
// closes the port, so clients see "connection refused"; Start() on the same
// port brings it back.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace osprey::alerts::testing {

struct ReceivedRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct Reply {
  int status = 200;
  // Never answer: hold the connection until the client gives up and closes
  // it, so a client timeout fires however slow the machine is.
  bool hang = false;
};

class Receiver {
 public:
  using Responder = std::function<Reply(const ReceivedRequest&)>;

  explicit Receiver(Responder responder = nullptr) : responder_(std::move(responder)) {}
  ~Receiver() { Stop(); }

  // Listens on `port` (0: any free port); returns the port.
  int Start(int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    stop_ = false;
    thread_ = std::thread([this] { Loop(); });
    return port_;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int port() const { return port_; }
  void set_responder(Responder r) {
    std::lock_guard<std::mutex> lock(mu_);
    responder_ = std::move(r);
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      Serve(c);
      ::close(c);
    }
  }

  void Serve(int c) {
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t content_length = 0;
    while (true) {
      // No deadline: a client sends its request or closes the connection.
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos) {
        head_end = data.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          std::string head = data.substr(0, head_end);
          std::transform(head.begin(), head.end(), head.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
          const size_t cl = head.find("content-length:");
          if (cl != std::string::npos) content_length = std::stoul(head.substr(cl + 15));
        }
      }
      if (head_end != std::string::npos && data.size() >= head_end + 4 + content_length) break;
    }
    ReceivedRequest r;
    const std::string head = data.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    r.method = first.substr(0, first.find(' '));
    r.path = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        r.headers[name] = line.substr(v);
      }
      pos = e + 2;
    }
    r.body = data.substr(head_end + 4, content_length);
    Reply reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(r);
      if (responder_) reply = responder_(r);
    }
    if (reply.hang) {
      while (::read(c, buf, sizeof buf) > 0) {
      }
      return;
    }
    const std::string out =
        "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)!::write(c, out.data(), out.size());
  }

  Responder responder_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<ReceivedRequest> requests_;
};

}  // namespace osprey::alerts::testing
