// durable_sink: the least work an SMTP receiver can do while it answers 250 only for what is on
// disk. A reference for tests/bench/smtp_ingress, beside Postfix's smtp-sink (which does no work
// at all): it says what any durable receiver can reach on the machine at hand, whatever its
// storage design.
//
//   durable_sink ADDR PORT SPOOL_FILE [--no-sync] [--gather-us N]
//
// One io thread answers every command at once, as smtp-sink does (no checks: every sender and
// recipient is accepted). The message after DATA, read by Postern's DATA reader
// (smtp::DataReader: dot-unstuffed; bare CR or LF and over-long lines refused), goes to a flusher
// thread, which gathers what is queued, writes it into SPOOL_FILE with one pwrite and makes it
// durable with one fdatasync (a group commit, as Postern's writer does), and only then is the 250
// sent. The spool is filled once at start-up and then written over in a ring, so each sync is an
// overwrite (no file-size change for the journal to commit), as with Postern's reused WAL.
// Nothing else is parsed and nothing can be read back: this is a yardstick, not a store.
//
// Two knobs (smtp_ingress uses --gather-us 300): --no-sync leaves out the fdatasync
// (nothing is durable then: the cost of the rest of the path), and --gather-us N makes the
// flusher wait N µs after a batch's first message before writing it, so that more join it
// (fewer syncs per message, each message waiting longer).
//
// SIGTERM or SIGINT stops it; it prints "N message(s) in M flush(es)" to stderr and exits 0.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "smtpd/proto/command.hpp"
#include "smtpd/proto/data_reader.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
namespace smtp = postern::smtp;

namespace {

constexpr std::size_t kSpoolSize = 64u << 20;
constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxMessage = 32u << 20;

class Flusher {
 public:
    using Done = std::function<void(bool)>;

    // sync: fdatasync each batch (off: an experiment, nothing is durable); gather: how long
    // to wait after a batch's first message before writing, for more to join it.
    Flusher(const char* path, bool sync, std::chrono::microseconds gather)
        : sync_(sync), gather_(gather) {
        fd_ = ::open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd_ < 0) die("open", path);
        const std::string fill(1u << 20, '\0');
        for (std::size_t off = 0; off < kSpoolSize; off += fill.size())
            if (::pwrite(fd_, fill.data(), fill.size(), static_cast<off_t>(off)) !=
                static_cast<ssize_t>(fill.size()))
                die("pwrite", path);
        if (::fsync(fd_) != 0) die("fsync", path);
        thread_ = std::thread([this] { run(); });
    }

    ~Flusher() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_one();
        thread_.join();
        ::close(fd_);
    }

    void submit(std::string data, Done done) {
        {
            std::lock_guard lock(mu_);
            queue_.push_back(Item{std::move(data), std::move(done)});
        }
        cv_.notify_one();
    }

    unsigned long messages() const { return messages_; }
    unsigned long flushes() const { return flushes_; }

 private:
    struct Item {
        std::string data;
        Done done;
    };

    [[noreturn]] static void die(const char* what, const char* path) {
        std::fprintf(stderr, "durable_sink: %s %s: %s\n", what, path, std::strerror(errno));
        std::exit(1);
    }

    void run() {
        std::deque<Item> batch;
        std::string buf;
        for (;;) {
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
            }
            if (gather_.count() > 0) std::this_thread::sleep_for(gather_);
            {
                std::lock_guard lock(mu_);
                batch.swap(queue_);
            }
            buf.clear();
            for (const auto& item : batch) buf += item.data;
            if (buf.size() > kSpoolSize) buf.resize(kSpoolSize);  // a yardstick: cut, not fail
            if (offset_ + buf.size() > kSpoolSize) offset_ = 0;
            const bool ok = ::pwrite(fd_, buf.data(), buf.size(), static_cast<off_t>(offset_)) ==
                                static_cast<ssize_t>(buf.size()) &&
                            (!sync_ || ::fdatasync(fd_) == 0);
            offset_ += buf.size();
            messages_ += batch.size();
            flushes_ += 1;
            for (auto& item : batch) item.done(ok);
            batch.clear();
        }
    }

    const bool sync_;
    const std::chrono::microseconds gather_;
    int fd_ = -1;
    std::size_t offset_ = 0;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    std::atomic<unsigned long> messages_{0}, flushes_{0};
    std::thread thread_;
};

// Resumes the coroutine on its own executor once the flusher has written and synced `data`.
template <class Token>
auto async_flush(Flusher& flusher, std::string data, Token&& token) {
    return asio::async_initiate<Token, void(bool)>(
        [&flusher](auto handler, std::string data) {
            using Handler = std::decay_t<decltype(handler)>;
            auto ex = asio::get_associated_executor(handler);
            struct State {
                Handler handler;
                asio::executor_work_guard<decltype(ex)> work;
            };
            auto state =
                std::make_shared<State>(State{std::move(handler), asio::make_work_guard(ex)});
            flusher.submit(std::move(data), [state](bool ok) {
                asio::post(state->work.get_executor(), [state, ok]() mutable {
                    auto handler = std::move(state->handler);
                    state->work.reset();
                    std::move(handler)(ok);
                });
            });
        },
        token, std::move(data));
}

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kIdle{60};  // a client silent this long is dropped

asio::awaitable<bool> send(tcp::socket& socket, std::string_view text) {
    auto [e, n] = co_await asio::async_write(socket, asio::buffer(text), kTuple);
    co_return !e;
}

// Closes the socket if the client stays silent past the deadline: the pending read then fails.
void arm(asio::steady_timer& timer, tcp::socket& socket) {
    timer.expires_after(kIdle);
    timer.async_wait([&socket](boost::system::error_code ec) {
        if (!ec) socket.close(ec);
    });
}

asio::awaitable<void> session(tcp::socket socket, Flusher& flusher) {
    constexpr auto tuple = kTuple;
    std::string in;
    asio::steady_timer deadline(socket.get_executor());
    auto reply = [&socket](std::string_view text) { return send(socket, text); };
    if (!co_await reply("220 durable-sink ESMTP\r\n")) co_return;
    for (;;) {
        arm(deadline, socket);
        auto [e, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(in, kMaxLine),
                                                      "\r\n", tuple);
        if (e) co_return;
        const smtp::Verb verb = smtp::parse_command(std::string_view(in).substr(0, n - 2)).verb;
        in.erase(0, n);
        std::string_view answer = "250 2.0.0 Ok\r\n";
        if (verb == smtp::Verb::ehlo) {
            answer =
                "250-durable-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
        } else if (verb == smtp::Verb::quit) {
            co_await reply("221 2.0.0 Bye\r\n");
            co_return;
        } else if (verb == smtp::Verb::data) {
            if (!co_await reply("354 End data with <CR><LF>.<CR><LF>\r\n")) co_return;
            // Postern's DATA reader: the end of data, dot-unstuffing, the limits.
            smtp::DataReader data(kMaxMessage);
            std::string message;
            for (;;) {
                in.erase(0, data.feed(in, message));
                if (data.done()) break;
                in.resize(16384);  // feed took all of it
                auto [e2, m] = co_await socket.async_read_some(asio::buffer(in), tuple);
                in.resize(e2 ? 0 : m);
                if (e2) co_return;
            }
            deadline.cancel();
            if (data.ok()) {
                auto flushing = async_flush(flusher, std::move(message), asio::use_awaitable);
                const bool ok = co_await std::move(flushing);
                answer = ok ? "250 2.0.0 Ok: on disk\r\n" : "451 4.3.0 Write failed\r\n";
            } else {
                answer = "554 5.6.0 Message refused\r\n";
            }
        } else if (verb != smtp::Verb::helo && verb != smtp::Verb::mail &&
                   verb != smtp::Verb::rcpt && verb != smtp::Verb::rset &&
                   verb != smtp::Verb::noop) {
            answer = "500 5.5.2 Error\r\n";
        }
        if (!co_await reply(answer)) co_return;
    }
}

// co_spawn's completion: a coroutine that ended by an exception says so (asio::detached would not).
void report(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "durable_sink: %s\n", x.what());
    }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, Flusher& flusher) {
    for (;;) {
        auto [e, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (e == asio::error::operation_aborted) co_return;
        if (e) {  // EMFILE and the like: the bench notices the refused session
            asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket), flusher), report);
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool sync = true;
    long gather_us = 0;
    int positional = 0;
    const char* args[3] = {};
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--no-sync") {
            sync = false;
        } else if (a == "--gather-us" && i + 1 < argc) {
            gather_us = std::atol(argv[++i]);
        } else if (!a.starts_with("--") && positional < 3) {
            args[positional++] = argv[i];
        } else {
            positional = -1;
            break;
        }
    }
    if (positional != 3 || gather_us < 0) {
        std::fprintf(stderr,
                     "usage: durable_sink ADDR PORT SPOOL_FILE [--no-sync] [--gather-us N]\n");
        return 2;
    }
    asio::io_context io(1);  // before the flusher: its last completions are posted here
    Flusher flusher(args[2], sync, std::chrono::microseconds(gather_us));
    tcp::acceptor acceptor(io);
    try {
        const tcp::endpoint at(asio::ip::make_address(args[0]),
                               static_cast<unsigned short>(std::atoi(args[1])));
        acceptor.open(at.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(at);
        acceptor.listen(1024);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "durable_sink: listen on %s:%s: %s\n", args[0], args[1], e.what());
        return 1;
    }
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](auto, int) { io.stop(); });
    asio::co_spawn(io, listen(acceptor, flusher), report);
    io.run();
    std::fprintf(stderr, "durable_sink: %lu message(s) in %lu flush(es)\n", flusher.messages(),
                 flusher.flushes());
    return 0;
}
