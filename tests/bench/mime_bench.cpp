// Prints how long mime::summarize() and mime::parse() take on a typical ~4 KiB message
// (multipart/alternative, quoted-printable, the headers a relay adds). Not a test: it never fails.
//   mime_bench [iterations] [threads]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "common/mime.hpp"

namespace {

std::string typical_message() {
    std::string m =
        "Return-Path: <alice@example.com>\r\n"
        "Received: from mail-wr1-f41.example.com (mail-wr1-f41.example.com [209.85.221.41])\r\n"
        "\tby mx.postern.example (Postern) with ESMTPS id 01HV8Z3J6Q\r\n"
        "\tfor <agent-7@postern.example>; Tue, 01 Aug 2023 08:00:01 +0000\r\n"
        "Received: by mail-wr1-f41.example.com with SMTP id ffacd0b85a97d-317b31203c7so\r\n"
        "        for <agent-7@postern.example>; Tue, 01 Aug 2023 01:00:00 -0700 (PDT)\r\n"
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=20221208;\r\n"
        "        t=1690876800; x=1691481600; h=to:subject:message-id:date:from:mime-version\r\n"
        "         :from:to:cc:subject:date:message-id:reply-to;\r\n"
        "        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
        "        b=Qk2mC0vVb3V0a2xC2m6Jq3bV3vJ1k8E8rW0m5vGxW2aK1lqQm8h4Yb6xH0x0K7w7yq3\r\n"
        "         Hn0H1kWmEo8Ck0Cj5TtQq5vR0mH7Qy5a1iYb1T9w3cYpQd1Vb6Z3s9k0o1mK7x2e8r\r\n"
        "         L2pN6q8g5d3wX4c9t0A1bC==\r\n"
        "MIME-Version: 1.0\r\n"
        "From: =?UTF-8?Q?Alice_M=C3=BCller?= <alice@example.com>\r\n"
        "Date: Tue, 1 Aug 2023 10:00:00 +0200\r\n"
        "Message-ID: <CAF7x2m1QxV0kZ9dQ@mail.example.com>\r\n"
        "In-Reply-To: <prev-1@postern.example>\r\n"
        "References: <root-0@postern.example> <prev-1@postern.example>\r\n"
        "Subject: =?UTF-8?Q?Re=3A_Quarterly_report_=E2=80=94_numbers?=\r\n"
        "To: Agent Seven <agent-7@postern.example>\r\n"
        "Cc: bob@example.org, \"Carol C.\" <carol@example.net>\r\n"
        "Content-Type: multipart/alternative; boundary=\"000000000000a1b2c3d4e5f6\"\r\n"
        "\r\n"
        "--000000000000a1b2c3d4e5f6\r\n"
        "Content-Type: text/plain; charset=\"UTF-8\"\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n";
    std::string text;
    for (int i = 0; text.size() < 1100; ++i)
        text += "Line " + std::to_string(i) +
                " of the quarterly numbers =E2=80=94 revenue is up, costs are flat.\r\n";
    m += text;
    m += "\r\n--000000000000a1b2c3d4e5f6\r\n"
         "Content-Type: text/html; charset=\"UTF-8\"\r\n"
         "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
         "<div dir=3D\"ltr\"><div>Hi,</div>\r\n";
    while (m.size() < 4000)
        m += "<div>Line of the quarterly numbers &mdash; revenue is up, costs are flat.</div>\r\n";
    m += "</div>\r\n--000000000000a1b2c3d4e5f6--\r\n";
    return m;
}

double thread_cpu_us() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Wall-clock and CPU microseconds per call. On a shared machine the CPU figure is the steadier.
struct PerCall {
    double wall_us, cpu_us;
};

template <class F>
PerCall per_call(int iterations, F&& f) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = thread_cpu_us();
    for (int i = 0; i < iterations; ++i) f();
    std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    return {took.count() / iterations, (thread_cpu_us() - cpu_start) / iterations};
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
    int threads = argc > 2 ? std::atoi(argv[2]) : 2;
    const std::string raw = typical_message();
    postern::mime::init();
    std::size_t sink = 0;
    for (int i = 0; i < 200; ++i) sink += postern::mime::summarize(raw)->snippet.size();  // warm up

    PerCall summarize =
        per_call(iterations, [&] { sink += postern::mime::summarize(raw)->snippet.size(); });
    PerCall parse =
        per_call(iterations / 4, [&] { sink += postern::mime::parse(raw)->text.size(); });

    std::vector<std::thread> pool;
    auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < iterations; ++i) (void)postern::mime::summarize(raw);
        });
    }
    for (auto& t : pool) t.join();
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;

    std::printf("message: %zu bytes\n", raw.size());
    std::printf("summarize: %.1f us/message wall, %.1f us CPU (1 thread)\n", summarize.wall_us,
                summarize.cpu_us);
    std::printf("parse:     %.1f us/message wall, %.1f us CPU (1 thread)\n", parse.wall_us,
                parse.cpu_us);
    std::printf("summarize: %.0f messages/s with %d threads\n",
                static_cast<double>(iterations) * threads / wall.count(), threads);
    return sink == 0;  // keeps the work observable
}
