/*
 * tsrun's single-threaded user-namespace stage.
 *
 * The kernel refuses unshare(CLONE_NEWUSER) and setns() into a user namespace
 * to multi-threaded processes, and Node is multi-threaded before any script
 * runs. So this small program does it, then execs the init (node):
 *
 *   new:  unshare(CLONE_NEWUSER [| CLONE_NEWPID]); tell the runtime on fd 3;
 *         wait until it has written uid_map/gid_map; become root of the
 *         namespace (so exec keeps capabilities); fork if a pid namespace was
 *         made (its first child is PID 1); exec the init.
 *   join: setns() into the given user (and pid) namespaces; fork; exec.
 *
 * The init's host pid goes to the runtime on fd 3. The stage then waits for
 * the init and exits the same way it did.
 *
 * usage: userns-stage new [pid] -- PROGRAM ARGS...
 *        userns-stage join USERNS_PATH [PIDNS_PATH] -- PROGRAM ARGS...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_FD 3

static void die(const char *what) {
  char line[512];
  int n = snprintf(line, sizeof line, "{\"type\":\"error\",\"code\":\"SYSCALL\",\"message\":\"user namespace stage: %s: %s\"}\n", what, strerror(errno));
  if (write(SYNC_FD, line, n) < 0) perror(what);
  exit(1);
}

static void send_line(const char *line) {
  if (write(SYNC_FD, line, strlen(line)) < 0) die("write to the runtime");
}

/* Blocks for one line from the runtime; only "mapped" lets us go on. */
static void wait_for_maps(void) {
  char buf[256];
  size_t len = 0;
  while (len < sizeof buf - 1) {
    ssize_t n = read(SYNC_FD, buf + len, 1);
    if (n <= 0) die("read from the runtime");
    if (buf[len++] == '\n') break;
  }
  buf[len] = 0;
  if (!strstr(buf, "\"mapped\"")) {
    errno = EPROTO;
    die("expected the runtime to write the id maps");
  }
}

static void join(const char *path, int nstype) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, nstype) < 0) die(path);
  close(fd);
}

/* Runs the init as a child, reports its pid, and exits like it did. */
static int fork_and_wait(char **argv) {
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(argv[0], argv);
    die(argv[0]);
  }
  char line[64];
  snprintf(line, sizeof line, "{\"type\":\"initPid\",\"pid\":%d}\n", (int)child);
  send_line(line);
  close(SYNC_FD);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid");
  }
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    kill(getpid(), WTERMSIG(status));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv) {
  int sep = 1;
  while (sep < argc && strcmp(argv[sep], "--") != 0) sep++;
  if (sep >= argc - 1 || argc < 3) {
    fprintf(stderr, "usage: %s new [pid] -- PROGRAM... | join USERNS [PIDNS] -- PROGRAM...\n", argv[0]);
    return 2;
  }
  char **program = argv + sep + 1;
  int want_fork = 0;
  if (strcmp(argv[1], "new") == 0) {
    want_fork = sep > 2 && strcmp(argv[2], "pid") == 0;
    if (unshare(CLONE_NEWUSER | (want_fork ? CLONE_NEWPID : 0)) < 0) die("unshare");
    send_line("{\"type\":\"userns\"}\n");
    wait_for_maps();
  } else if (strcmp(argv[1], "join") == 0 && sep > 2) {
    join(argv[2], CLONE_NEWUSER);
    if (sep > 3) {
      join(argv[3], CLONE_NEWPID);
      want_fork = 1;
    }
  } else {
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
    return 2;
  }
  /* Root of the namespace before exec, or exec would drop every capability. EINVAL: 0 is not mapped. */
  if (setresgid(0, 0, 0) < 0 && errno != EINVAL) die("setresgid");
  if (setresuid(0, 0, 0) < 0 && errno != EINVAL) die("setresuid");
  if (want_fork) return fork_and_wait(program);
  char line[64];
  snprintf(line, sizeof line, "{\"type\":\"initPid\",\"pid\":%d}\n", (int)getpid());
  send_line(line);
  execvp(program[0], program);
  die(program[0]);
}
