// The connection layer under the API server (internal to src/osprey/api/):
// an httplib::Server whose worker threads are busy only while a request is
// being read, handled and answered. Idle keep-alive connections wait in one
// epoll set, not on a worker each, so 16 clients on 8 workers are all served
// and a thousand idle browsers cost no threads.
//
// Each request is read whole here, within fixed limits, before httplib sees
// it: the request line (414), the header block (431), the body in either
// framing, Content-Length or chunked (413), and unknown transfer codings
// (501) or content codings (415: a compressed body could expand past any
// limit). A chunked body is decoded here and handed on with a Content-Length,
// so no body that httplib reads can exceed the limit. Sockets get
// TCP_NODELAY: a keep-alive response never waits on Nagle's algorithm.
// A body sent as application/x-www-form-urlencoded (curl -d) is passed on as
// a plain body: query parameters come from the URL only.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace osprey::api::internal {

struct FrontLimits {
  size_t max_request_line = 8 * 1024;  // longer: 414
  size_t max_header_line = 8 * 1024;   // one header line longer: 431
  size_t max_head = 32 * 1024;         // request line and headers together: 431
  size_t max_headers = 100;            // more header fields: 431
  size_t max_body = 1 << 20;           // decoded body, either framing: 413
  // Time to receive a whole request once its first byte is in, and to send
  // a response.
  std::chrono::seconds io_timeout{30};
  // An idle keep-alive connection is closed after this.
  std::chrono::seconds idle_timeout{60};
};

// One line of the access log, for requests answered by the front itself (a
// limit) and, through AccessLogInfo, for those httplib answered.
struct AccessEntry {
  std::string method;
  std::string path;
  int status = 0;
  size_t bytes = 0;
  double seconds = 0;
  std::string token_name;  // empty: no token or none accepted
};

class FrontServer : public httplib::Server {
 public:
  // `threads` workers; `log` (may be empty) receives the front's own answers.
  FrontServer(size_t threads, FrontLimits limits, std::function<void(const AccessEntry&)> log);
  ~FrontServer() override;

  struct Conn;

  // Starts the idle-connection watcher; call before listen_after_bind.
  void StartWatcher();
  // Closes idle connections and stops the watcher; call before stop().
  void StopWatcher();

  // The current request's start time and accepted token name, for the access
  // logger, which runs on the thread that handled the request.
  static std::chrono::steady_clock::time_point RequestStart();
  static void SetTokenName(const std::string& name);
  static const std::string& TokenName();

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Serves requests on `conn` while it has buffered input, then parks it.
  void Serve(std::shared_ptr<Conn> conn);
  void Park(std::shared_ptr<Conn> conn);
  void Close(Conn& conn);
  void WatchLoop();

  const FrontLimits limits_;
  const std::function<void(const AccessEntry&)> log_;
  std::atomic<httplib::TaskQueue*> queue_{nullptr};  // owned by httplib's listen loop
  int epoll_fd_ = -1;
  std::thread watcher_;
  std::mutex mu_;
  bool watching_ = false;                      // guarded by mu_
  std::map<int, std::shared_ptr<Conn>> idle_;  // guarded by mu_
};

}  // namespace osprey::api::internal
