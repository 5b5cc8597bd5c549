/*
 * tsrun's container stage: the container's process from its birth until
 * execve. `tsrun create`, `run` and `exec` spawn it from their main thread
 * while that thread is inside the container's namespaces, so it is born in
 * them (as PID 1 of a new pid namespace); the CLI then does the mounts and
 * pivot_root itself and sends this stage a plan of what must be applied from
 * inside: credentials, capabilities, no_new_privs, seccomp, cwd.
 *
 * A static C program, so a created container waits for `tsrun start` in about
 * a megabyte instead of a second Node runtime.
 *
 * fd 3 is a socket to the CLI. Frames from the CLI are a 4-byte little-endian
 * length and that many bytes of NUL-terminated "key=value" entries; the first
 * entry is "op=...". Lines back to the CLI are JSON objects.
 *
 *   CLI                                   stage
 *   ── op=cgroupns [ns=new|PATH] ───────▶ unshare/join the cgroup namespace
 *   ◀────────────────────── {"type":"ok"} (the CLI put it in its cgroup first)
 *   ── op=plan (see below) ─────────────▶ tty, rlimits, umask, seccomp (no NNP),
 *                                         bounding set, groups/gid/uid, caps,
 *                                         ambient, chdir, NNP, seccomp (NNP),
 *                                         signals reset, fds > 2 close-on-exec
 *   ◀──────────────── {"type":"seccompFd"} + fd (SCM_RIGHTS), when the filter
 *                                         has SCMP_ACT_NOTIFY rules: for the agent
 *   ◀─────────────────── {"type":"ready"} (create) — or EOF at execve (exec)
 *   ── op=release ──────────────────────▶ closes fd 3; opens exec.fifo (blocks
 *                                         until `tsrun start`), writes "0",
 *                                         runs startContainer hooks, execve
 *
 * Instead of ok/ready the stage may send {"type":"error",...} and exit;
 * {"type":"warning"|"debug",...} lines may come at any time. After the "0"
 * on exec.fifo, an error is written as text on the fifo itself (kept open,
 * close-on-exec): `tsrun start` reads to EOF, and EOF right after "0" means
 * execve succeeded.
 *
 * Frames may carry fds (SCM_RIGHTS); the "fds" entry names them in order.
 * Plan keys (repeatable ones marked *): fds ("root", "tty"), rlimit* "RES SOFT HARD",
 * umask (octal), caps "BOUNDING EFFECTIVE PERMITTED INHERITABLE" (hex masks),
 * lastcap, ambient* (cap number), user "UID GID", groups "G G G" (present:
 * call setgroups), nnp, seccomp (hex BPF), seccompflags (with NEW_LISTENER
 * the listener fd is sent back, see above), cwd, path, arg*,
 * env*, fifo (fd), state (JSON for hooks), hook.path*, hook.arg*, hook.env*,
 * hook.timeout (seconds; each hook.path starts a new hook), preserve ("FROM COUNT":
 * --preserve-fds of create, run and exec, dup3 to 3… right before execve).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>

#define SYNC_FD 3
#define MAX_ITEMS 4096

/* Where errors go: the sync socket until the fifo has said "0", then the fifo. */
static int fifo_wfd = -1;

static void json_escaped(char *out, size_t cap, const char *in) {
  size_t o = 0;
  for (; *in && o + 7 < cap; in++) {
    unsigned char ch = (unsigned char)*in;
    if (ch == '"' || ch == '\\') { out[o++] = '\\'; out[o++] = ch; }
    else if (ch < 0x20) o += snprintf(out + o, cap - o, "\\u%04x", ch);
    else out[o++] = ch;
  }
  out[o] = 0;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf += n;
    len -= n;
  }
}

static void send_msg(const char *type, const char *message, int err) {
  char esc[2048], line[2300];
  json_escaped(esc, sizeof esc, message ? message : "");
  int n;
  if (err) {
    const char *name = strerrorname_np(err);
    n = snprintf(line, sizeof line, "{\"type\":\"%s\",\"code\":\"INIT\",\"message\":\"%s\",\"errno\":\"%s\"}\n", type, esc, name ? name : "");
  } else {
    n = snprintf(line, sizeof line, "{\"type\":\"%s\",\"message\":\"%s\"}\n", type, esc);
  }
  write_all(SYNC_FD, line, n > (int)sizeof line ? sizeof line : (size_t)n);
}

/* strerror's words, lower-cased like the rest of tsrun's messages. */
static const char *errtext(int err) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s", strerror(err));
  buf[0] = (char)(buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] + 32 : buf[0]);
  return buf;
}

/* Reports "WHAT: ERRNO TEXT" to whoever is listening and exits. */
static void die_code(int code, int err, const char *fmt, ...) {
  char what[1024], msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (err) snprintf(msg, sizeof msg, "%s: %s", what, errtext(err));
  else snprintf(msg, sizeof msg, "%s", what);
  if (fifo_wfd >= 0) write_all(fifo_wfd, msg, strlen(msg));
  else send_msg("error", msg, err ? err : EINVAL);
  _exit(code);
}
#define die(err, ...) die_code(1, err, __VA_ARGS__)

/* ---- frames from the CLI ---- */

struct frame {
  char *buf;
  int fds[8];
  int nfds;
  char *keys[MAX_ITEMS];
  char *vals[MAX_ITEMS];
  int n;
};

static void read_exact(void *p, size_t len) {
  char *c = p;
  while (len > 0) {
    ssize_t n = read(SYNC_FD, c, len);
    if (n < 0 && errno == EINTR) continue;
    /* EOF: the CLI died or gave up; nothing to wait for. */
    if (n <= 0) _exit(1);
    c += n;
    len -= n;
  }
}

/* The header is read with recvmsg: fds passed with a frame arrive with its first bytes. */
static void read_header(struct frame *f, uint32_t *len) {
  union { char buf[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } control;
  struct iovec iov = { len, 4 };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do n = recvmsg(SYNC_FD, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n <= 0) _exit(1);
  f->nfds = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (int i = 0; i < count && f->nfds < 8; i++) memcpy(&f->fds[f->nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (n < 4) read_exact((char *)len + n, 4 - n);
}

static void read_frame(struct frame *f, const char *want_op) {
  uint32_t len;
  read_header(f, &len);
  f->buf = malloc(len + 1);
  if (!f->buf) die(ENOMEM, "reading the plan");
  read_exact(f->buf, len);
  f->buf[len] = 0;
  f->n = 0;
  for (char *p = f->buf; p < f->buf + len && f->n < MAX_ITEMS;) {
    size_t entry = strlen(p);
    char *eq = strchr(p, '=');
    if (eq) {
      *eq = 0;
      f->keys[f->n] = p;
      f->vals[f->n++] = eq + 1;
    }
    p += entry + 1;
  }
  if (f->n == 0 || strcmp(f->keys[0], "op") != 0 || strcmp(f->vals[0], want_op) != 0) {
    die(EPROTO, "stage: expected op=%s from the runtime, got %s", want_op, f->n ? f->vals[0] : "nothing");
  }
}

static const char *get(struct frame *f, const char *key) {
  for (int i = 0; i < f->n; i++) if (strcmp(f->keys[i], key) == 0) return f->vals[i];
  return NULL;
}

/* The fd passed under `name`: the frame's "fds" entry names them in order. */
static int passed_fd(struct frame *f, const char *name) {
  const char *list = get(f, "fds");
  size_t len = strlen(name);
  for (int i = 0; list && *list; i++) {
    const char *comma = strchr(list, ',');
    size_t item = comma ? (size_t)(comma - list) : strlen(list);
    if (item == len && strncmp(list, name, len) == 0) {
      if (i >= f->nfds) die(EPROTO, "stage: fd \"%s\" was not passed", name);
      return f->fds[i];
    }
    if (!comma) break;
    list = comma + 1;
  }
  return -1;
}

/* ---- the plan's steps ---- */

static void use_terminal(int fd) {
  if (setsid() < 0) die(errno, "setsid");
  if (ioctl(fd, TIOCSCTTY, 0) < 0) die(errno, "ioctl(TIOCSCTTY) on the container's pty");
  for (int i = 0; i < 3; i++) if (dup2(fd, i) < 0) die(errno, "dup2 of the container's pty");
  close(fd);
}

static void set_rlimit(const char *v) {
  int res;
  unsigned long long soft, hard;
  if (sscanf(v, "%d %llu %llu", &res, &soft, &hard) != 3) die(EINVAL, "bad rlimit entry %s", v);
  struct rlimit r = { soft, hard };
  if (setrlimit(res, &r) < 0) die(errno, "setrlimit(%d, %llu, %llu)", res, soft, hard);
}

struct caps { uint64_t bounding, effective, permitted, inheritable; };

static void capset_all(const struct caps *c) {
  struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
  struct { uint32_t effective, permitted, inheritable; } data[2] = {
    { (uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable },
    { (uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32), (uint32_t)(c->inheritable >> 32) },
  };
  if (syscall(SYS_capset, &hdr, data) < 0) die(errno, "capset");
}

/* SCMP_ACT_NOTIFY: the listener fd goes to the CLI at once (with sendmsg, which a
   profile may not notify), for the CLI to pass to the seccomp agent; until the agent
   has it, a notified syscall would wait for nobody. */
static void send_listener(int fd) {
  static const char line[] = "{\"type\":\"seccompFd\"}\n";
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
  struct iovec iov = { (void *)line, sizeof line - 1 };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(SYNC_FD, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n != (ssize_t)(sizeof line - 1)) die(n < 0 ? errno : EPIPE, "sending the seccomp listener fd to the runtime");
  close(fd);
}

static void load_seccomp(const char *hex, unsigned flags) {
  size_t len = strlen(hex) / 2;
  unsigned char *bytes = malloc(len ? len : 1);
  if (!bytes) die(ENOMEM, "seccomp");
  for (size_t i = 0; i < len; i++) sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
  struct sock_fprog prog = { (unsigned short)(len / sizeof(struct sock_filter)), (struct sock_filter *)bytes };
  long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (ret < 0) die(errno, "seccomp(SECCOMP_SET_MODE_FILTER) of linux.seccomp");
  free(bytes);
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) send_listener((int)ret);
}

/* /proc/self/fd opened before the stage entered the container's root (where there may be no /proc). */
static int early_fd_dir = -1;

/* fds > 2 close on exec; when close_range is missing or filtered, walk /proc/self/fd. */
static void cloexec_from_3(void) {
  if (syscall(SYS_close_range, 3U, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0) return;
  int early = early_fd_dir >= 0 ? dup(early_fd_dir) : -1;
  DIR *d = early >= 0 ? fdopendir(early) : opendir("/proc/self/fd");
  if (d) rewinddir(d);
  if (!d) die(errno, "close_range failed and /proc/self/fd cannot be read");
  int own = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 3 || fd == own) continue;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF) die(errno, "fcntl(%d, F_SETFD, FD_CLOEXEC)", fd);
  }
  closedir(d);
}

static void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static void apply_credentials(struct frame *p) {
  const char *v;
  struct caps c = { 0, 0, 0, 0 };
  int have_caps = (v = get(p, "caps")) != NULL;
  if (have_caps && sscanf(v, "%lx %lx %lx %lx", &c.bounding, &c.effective, &c.permitted, &c.inheritable) != 4) die(EINVAL, "bad caps entry");
  if (have_caps) {
    int last = (v = get(p, "lastcap")) ? atoi(v) : 40;
    for (int cap = 0; cap <= last; cap++) {
      if (!((c.bounding >> cap) & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) die(errno, "prctl(PR_CAPBSET_DROP, %d) for process.capabilities.bounding", cap);
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(errno, "prctl(PR_SET_KEEPCAPS)");
  if ((v = get(p, "groups")) != NULL) {
    gid_t gids[256];
    int n = 0;
    for (char *s = (char *)v, *end; *s && n < 256; s = end) {
      gids[n++] = (gid_t)strtoul(s, &end, 10);
      if (end == s) break;
    }
    if (setgroups(n, gids) < 0) die(errno, "setgroups for process.user.additionalGids");
  }
  if ((v = get(p, "user")) != NULL) {
    unsigned uid, gid;
    if (sscanf(v, "%u %u", &uid, &gid) != 2) die(EINVAL, "bad user entry");
    if (setresgid(gid, gid, gid) < 0) die(errno, "setresgid(%u) for process.user.gid", gid);
    if (setresuid(uid, uid, uid) < 0) die(errno, "setresuid(%u) for process.user.uid", uid);
  }
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die(errno, "prctl(PR_SET_KEEPCAPS, 0)");
  if (!have_caps) return;
  capset_all(&c);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die(errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->keys[i], "ambient") != 0) continue;
    int cap = atoi(p->vals[i]);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0) continue;
    /* The kernel only raises caps that are permitted and inheritable: runc skips the others. */
    int kept = ((c.inheritable >> cap) & 1) && ((c.permitted >> cap) & 1);
    if (errno == EPERM && !kept) {
      char msg[160];
      snprintf(msg, sizeof msg, "process.capabilities.ambient: capability %d not raised: it is not in the permitted and inheritable sets", cap);
      send_msg("debug", msg, 0);
      continue;
    }
    die(errno, "prctl(PR_CAP_AMBIENT_RAISE, %d) for process.capabilities.ambient", cap);
  }
}

static void apply_plan(struct frame *p) {
  const char *v;
  int fd = passed_fd(p, "root");
  /* pivot_root already moved this process's root; --no-pivot and "no mount namespace" did not. */
  if (fd >= 0 && (fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0)) die(errno, "entering the container's root");
  if (fd >= 0) close(fd);
  if ((fd = passed_fd(p, "tty")) >= 0) use_terminal(fd);
  for (int i = 0; i < p->n; i++) if (strcmp(p->keys[i], "rlimit") == 0) set_rlimit(p->vals[i]);
  umask((v = get(p, "umask")) ? (mode_t)strtoul(v, NULL, 8) : 022);
  const char *bpf = get(p, "seccomp");
  unsigned sflags = (v = get(p, "seccompflags")) ? (unsigned)atoi(v) : 0;
  int nnp = get(p, "nnp") != NULL;
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the caps go. */
  if (bpf && !nnp) load_seccomp(bpf, sflags);
  /* As runc: the cwd is entered as root, so a directory the user may not enter still
     works; refused there (root squashed by a filesystem), it is tried again as the user. */
  const char *cwd = get(p, "cwd");
  int cwd_later = 0;
  if (cwd && chdir(cwd) < 0) {
    if (errno != EACCES && errno != EPERM) die(errno, "chdir to cwd (\"%s\") set in config.json failed", cwd);
    cwd_later = 1;
  }
  apply_credentials(p);
  if (cwd_later && chdir(cwd) < 0) die(errno, "chdir to cwd (\"%s\") set in config.json failed", cwd);
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(errno, "prctl(PR_SET_NO_NEW_PRIVS) for process.noNewPrivileges");
  if (bpf && nnp) load_seccomp(bpf, sflags);
  reset_signals();
  cloexec_from_3();
}

/* ---- after `tsrun start` ---- */

static long ms_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The state on a hook's stdin, within its timeout (ms; 0: none): a hook that neither reads it nor
   exits must not hold the stage past the timeout once the state is larger than a pipe. 0 when the
   timeout ran out first. */
static int write_state(int fd, const char *buf, size_t len, long timeout_ms, const struct timespec *start) {
  if (!timeout_ms) {
    write_all(fd, buf, len);
    return 1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n > 0) {
      buf += n;
      len -= n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return 1; /* EPIPE: the hook exited without reading */
    long left = timeout_ms - ms_since(start);
    if (left <= 0) return 0;
    struct pollfd pfd = { fd, POLLOUT, 0 };
    if (poll(&pfd, 1, (int)left) == 0) return 0;
  }
  return 1;
}

static void run_hook(struct frame *p, int first, int index, const char *state) {
  char *argv[256], *envp[256];
  int argc = 0, envc = 0, timeout = 0;
  const char *path = p->vals[first];
  for (int i = first + 1; i < p->n && strcmp(p->keys[i], "hook.path") != 0; i++) {
    if (strcmp(p->keys[i], "hook.arg") == 0 && argc < 255) argv[argc++] = p->vals[i];
    else if (strcmp(p->keys[i], "hook.env") == 0 && envc < 255) envp[envc++] = p->vals[i];
    else if (strcmp(p->keys[i], "hook.timeout") == 0) timeout = atoi(p->vals[i]);
  }
  if (argc == 0) argv[argc++] = (char *)path;
  argv[argc] = NULL;
  envp[envc] = NULL;
  /* in: the state on the hook's stdin; ex: the errno of a failed execve (close-on-exec: EOF when it succeeded). */
  int in[2], ex[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) die(errno, "pipe for startContainer hook #%d", index);
  pid_t child = fork();
  if (child < 0) die(errno, "fork for startContainer hook #%d", index);
  if (child == 0) {
    dup2(in[0], 0);
    execve(path, argv, envp);
    int err = errno;
    write_all(ex[1], (const char *)&err, sizeof err);
    _exit(127);
  }
  close(in[0]);
  close(ex[1]);
  /* The timeout counts from the hook's start, its stdin included. */
  struct timespec start, tick = { 0, 5000000 };
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* A hook that exits without reading its stdin must not kill the stage with SIGPIPE (start would see EOF: "started"). */
  signal(SIGPIPE, SIG_IGN);
  int written = write_state(in[1], state, strlen(state), timeout * 1000L, &start);
  close(in[1]);
  signal(SIGPIPE, SIG_DFL);
  if (!written) {
    close(ex[0]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    die(0, "error running startContainer hook #%d (%s): ran past its timeout of %ds", index, path, timeout);
  }
  int exec_err = 0;
  ssize_t got;
  do got = read(ex[0], &exec_err, sizeof exec_err); while (got < 0 && errno == EINTR);
  close(ex[0]);
  if (got == (ssize_t)sizeof exec_err) {
    waitpid(child, NULL, 0);
    die(0, "error running startContainer hook #%d (%s): cannot execute %s in the container: %s (startContainer hooks run in the container after pivot_root: the hook, and any interpreter on its #! line, must be in the container's root)", index, path, path, errtext(exec_err));
  }
  int status;
  for (;;) {
    pid_t r = waitpid(child, &status, timeout ? WNOHANG : 0);
    if (r == child) break;
    if (r < 0 && errno != EINTR) die(errno, "waitpid for startContainer hook #%d", index);
    if (timeout && ms_since(&start) >= timeout * 1000L) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      die(0, "error running startContainer hook #%d (%s): ran past its timeout of %ds", index, path, timeout);
    }
    if (timeout) nanosleep(&tick, NULL);
  }
  if (WIFSIGNALED(status)) die(0, "error running startContainer hook #%d (%s): killed by signal %d", index, path, WTERMSIG(status));
  if (WEXITSTATUS(status) != 0) die(0, "error running startContainer hook #%d (%s): exit status %d", index, path, WEXITSTATUS(status));
}

static void exec_process(struct frame *p) {
  char **argv = calloc(p->n + 1, sizeof *argv), **envp = calloc(p->n + 1, sizeof *envp);
  int argc = 0, envc = 0;
  if (!argv || !envp) die(ENOMEM, "exec");
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->keys[i], "arg") == 0) argv[argc++] = p->vals[i];
    else if (strcmp(p->keys[i], "env") == 0) envp[envc++] = p->vals[i];
  }
  const char *path = get(p, "path");
  if (!path || argc == 0) die(EINVAL, "the plan has no process to exec");
  /* --preserve-fds: the caller's fds, passed at FROM…, go on at 3… (sources lie above their targets). */
  const char *keep = get(p, "preserve");
  int from = 0, count = 0;
  if (keep && sscanf(keep, "%d %d", &from, &count) == 2) {
    /* exec.fifo's error channel may have the number of a target: move it above them. */
    if (fifo_wfd >= 3 && fifo_wfd < 3 + count) {
      int moved = fcntl(fifo_wfd, F_DUPFD_CLOEXEC, 3 + count);
      if (moved < 0) die(errno, "fcntl(F_DUPFD_CLOEXEC) of exec.fifo for --preserve-fds");
      close(fifo_wfd);
      fifo_wfd = moved;
    }
    for (int i = 0; i < count; i++) if (dup3(from + i, 3 + i, 0) < 0) die(errno, "dup3(%d, %d) for --preserve-fds", from + i, 3 + i);
  }
  execve(path, argv, envp);
  int err = errno;
  die_code(err == ENOENT ? 127 : err == EACCES ? 126 : 1, err, "exec %s", path);
}

int main(void) {
  static struct frame cg, plan, release;
  read_frame(&cg, "cgroupns");
  const char *ns = get(&cg, "ns");
  if (ns && strcmp(ns, "new") == 0) {
    if (unshare(CLONE_NEWCGROUP) < 0) die(errno, "unshare(CLONE_NEWCGROUP) for linux.namespaces {type: cgroup}");
  } else if (ns && *ns) {
    int fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWCGROUP) < 0) die(errno, "setns %s for linux.namespaces {type: cgroup}", ns);
    close(fd);
  }
  send_msg("ok", "", 0);
  read_frame(&plan, "plan");
  const char *fifo = get(&plan, "fifo");
  /* exec.fifo is reopened for writing through our fd directory, opened now: once
     chrooted (no mount namespace) there may be no /proc to reach. With --no-pivot
     the host's /proc is already hidden from us: then the container's, once inside. */
  int fd_dir = fifo ? open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
  early_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  apply_plan(&plan);
  if (fifo && fd_dir < 0 && (fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) die(errno, "cannot reach exec.fifo through /proc/self/fd (is /proc mounted in the container?)");
  if (!fifo) exec_process(&plan); /* exec: the CLI sees fd 3 close at execve */
  send_msg("ready", "", 0);
  read_frame(&release, "release");
  close(SYNC_FD);

  int wfd = openat(fd_dir, fifo, O_WRONLY | O_CLOEXEC); /* blocks until `tsrun start` */
  if (wfd < 0) _exit(1);
  write_all(wfd, "0", 1);
  fifo_wfd = wfd;
  close(atoi(fifo));
  close(fd_dir);
  const char *state = get(&plan, "state");
  for (int i = 0, index = 0; i < plan.n; i++) {
    if (strcmp(plan.keys[i], "hook.path") == 0) run_hook(&plan, i, index++, state ? state : "{}");
  }
  exec_process(&plan);
  return 1;
}
