#pragma once
// One SMTP connection: the session coroutine that drives a smtp::Session over a socket, and the
// small control block through which the server's drain reaches it.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "services.hpp"
#include "smtpd/connection_limits.hpp"

namespace postern::smtp {

// Shared by a session and the server's registry. Touched only on the connection's strand (the
// server posts to timer.get_executor()), so it needs no lock.
struct ConnectionControl {
    explicit ConnectionControl(const boost::asio::any_io_executor& executor) : timer(executor) {}

    enum class End { none, timeout, shutdown };

    boost::asio::steady_timer timer;  // the watchdog sleeps on it; cancel() wakes it early
    std::chrono::steady_clock::time_point deadline;  // of the read or write in progress
    bool draining = false;   // close as soon as no transaction is in progress
    bool stop_now = false;   // close now (the watchdog ends the session)
    bool idle_wait = false;  // blocked reading a command with no transaction in progress
    End end = End::none;     // why the watchdog ended the session
};

// What a listener serves: MX ingress (STARTTLS offered when a certificate is loaded), submission
// with STARTTLS (port 587), or submission under implicit TLS (port 465, RFC 8314).
enum class ListenerKind { mx, submission, submissions };

// Serves one accepted connection until it closes. `socket` runs on its io_context (one thread,
// see server.hpp); `control` was made on the same executor. `ticket` holds the connection's place
// in the limits until the end; it is declared after `services` so that it is destroyed first (its
// ConnectionLimits lives there).
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<Services> services,
                                              std::shared_ptr<ConnectionControl> control,
                                              ConnectionLimits::Ticket ticket,
                                              std::string client_ip, ListenerKind kind);

}  // namespace postern::smtp
