// amlfs top [--interval SECONDS] [--once] [MOUNT]
//
// A live view of the file system, like top(1): every interval it asks every
// server for its counters (cluster_stats.h) and redraws the whole screen
// with the rates since the scrape before (top_frame.h). 'q' or Ctrl-C
// quits. --once: two scrapes an interval apart, one frame without escape
// codes, for scripts. When stdout is not a terminal, frames follow one
// another, a blank line between two.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "tools/amlfs/cluster_stats.h"
#include "tools/amlfs/commands.h"
#include "tools/amlfs/top_frame.h"

namespace amlfs::tools::top {

namespace {

constexpr char kCmd[] = "top";

struct Options {
  double interval = 1;
  bool once = false;
  std::string path;
};

// The pipe the signal handlers write the signal's number to, so the main
// loop's poll() sees it on whichever thread the signal lands.
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  const int saved = errno;
  const auto b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &b, 1);
  errno = saved;
}

// While alive: SIGINT, SIGTERM, SIGPIPE and SIGWINCH are written to the
// pipe instead of their usual effect; the handlers before come back after.
class SignalPipe {
 public:
  SignalPipe() {
    if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < kCount; ++i) sigaction(kSignals[i], &sa, &old_[i]);
    ok_ = true;
  }
  ~SignalPipe() {
    if (!ok_) return;
    for (size_t i = 0; i < kCount; ++i) sigaction(kSignals[i], &old_[i], nullptr);
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
  }
  bool ok() const { return ok_; }
  int fd() const { return g_signal_pipe[0]; }

 private:
  static constexpr size_t kCount = 4;
  static constexpr int kSignals[kCount] = {SIGINT, SIGTERM, SIGPIPE, SIGWINCH};
  struct sigaction old_[kCount] {};
  bool ok_ = false;
};

// While alive: when stdin is a terminal, keys arrive one at a time and
// unechoed (Ctrl-C still signals); when stdout is one, the cursor is hidden.
// Everything is put back as it was.
class TerminalMode {
 public:
  TerminalMode(bool keys, bool screen) : screen_(screen) {
    if (keys && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      struct termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      keys_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    if (screen_) Put("\033[?25l");
  }
  ~TerminalMode() {
    if (keys_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    if (screen_) Put("\033[?25h\n");
  }

 private:
  static void Put(const char* s) {
    std::fputs(s, stdout);
    std::fflush(stdout);
  }
  struct termios saved_ {};
  bool keys_ = false;
  const bool screen_;
};

std::chrono::steady_clock::duration Interval(const Options& o) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(o.interval));
}

ScreenSize SizeOf(int fd) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
    return {ws.ws_col, ws.ws_row};
  return {};
}

// Writes one frame: on a terminal over the screen, else after a blank line
// (but the first). False when stdout is gone.
bool Draw(const ClusterStats* prev, const ClusterStats& cur, bool screen, bool first) {
  auto lines = RenderFrame(prev, cur, SizeOf(STDOUT_FILENO));
  std::string out = screen ? "\033[H\033[2J" : first ? "" : "\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (!screen || i + 1 < lines.size()) out += '\n';  // no scrolling on the last line
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

enum class Event { kTick, kResize, kQuit };

// Waits until `deadline` for a quitting key (when `keys`) or a signal.
Event Wait(std::chrono::steady_clock::time_point deadline, int signal_fd, bool keys) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Event::kTick;
    struct pollfd fds[2] = {{signal_fd, POLLIN, 0}, {keys ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 2, static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      return Event::kQuit;
    }
    if (fds[0].revents & POLLIN) {
      unsigned char sig = 0;
      if (read(signal_fd, &sig, 1) == 1 && sig == SIGWINCH) return Event::kResize;
      return Event::kQuit;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q') return Event::kQuit;
    }
  }
}

int Live(ClusterScraper& scraper, const Options& o) {
  const bool screen = isatty(STDOUT_FILENO), keys = isatty(STDIN_FILENO);
  SignalPipe signals;
  if (!signals.ok()) return Fail(kCmd, std::string("cannot make a pipe: ") + std::strerror(errno));
  TerminalMode mode(keys, screen);
  std::optional<ClusterStats> prev;
  ClusterStats cur = scraper.Scrape();
  for (bool first = true;;) {
    // Without a screen, a frame without rates says nothing.
    if (screen || prev) {
      if (!Draw(prev ? &*prev : nullptr, cur, screen, first)) return 0;
      first = false;
    }
    Event e;
    while ((e = Wait(cur.when + Interval(o), signals.fd(), keys)) == Event::kResize)
      if (screen) Draw(prev ? &*prev : nullptr, cur, screen, false);
    if (e == Event::kQuit) return 0;
    prev = std::move(cur);
    cur = scraper.Scrape();
  }
}

int Once(ClusterScraper& scraper, const Options& o) {
  const ClusterStats before = scraper.Scrape();
  std::this_thread::sleep_until(before.when + Interval(o));
  const ClusterStats after = scraper.Scrape();
  const bool ok = Draw(&before, after, /*screen=*/false, /*first=*/true);
  return ok ? 0 : 1;
}

int Run(const Options& o) {
  auto m = ChooseMount(o.path);
  if (!m.ok()) return Fail(kCmd, m.status().message(), 2);
  auto scraper = ClusterScraper::Connect(*m);
  if (!scraper.ok()) return Fail(kCmd, scraper.status().message());
  return o.once ? Once(**scraper, o) : Live(**scraper, o);
}

}  // namespace

void Add(CLI::App& app, int* rc) {
  auto opt = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "top", "Live view of the servers, clients, metadata operations and jobs ('q' quits)");
  sub->add_option("--interval,-d", opt->interval, "Seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  sub->add_flag("--once", opt->once, "Print one frame (rates over one interval) and exit");
  sub->add_option("mount", opt->path, "The mount point (default: the only amlfs mount)");
  sub->callback([opt, rc] { *rc = Run(*opt); });
}

}  // namespace amlfs::tools::top
