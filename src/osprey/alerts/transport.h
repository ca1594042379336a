// Transport: the only way osprey's alerts reach the outside world — an HTTP
// POST (libcurl) or a local command fed on stdin (fork/exec). Behind an
// interface so tests inject faults and the Deliverer stays testable with a
// fake. Implementations are safe to use from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::alerts {

struct HttpRequest {
  std::string url;  // a secret: never logged, never in an error message
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 10000;  // the whole request
};

struct HttpResponse {
  int64_t status = 0;
  std::string body;  // at most the first 4 KiB
};

struct CommandRequest {
  std::string command;  // run with /bin/sh -c; a secret like a URL
  std::string input;    // written to the command's stdin
  int64_t timeout_ms = 10000;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Any HTTP response is a value, whatever its status. Unavailable when the
  // request could not be made or the connection broke; DeadlineExceeded when
  // a timeout expired.
  virtual Result<HttpResponse> Post(const HttpRequest& request) = 0;
  // The command's exit status (0 success). DeadlineExceeded when it ran past
  // the timeout (it is killed); Unavailable when it could not be started or
  // died from a signal.
  virtual Result<int> RunCommand(const CommandRequest& request) = 0;
};

// libcurl for HTTP, fork/exec of /bin/sh for commands.
std::unique_ptr<Transport> NewSystemTransport();

}  // namespace osprey::alerts
