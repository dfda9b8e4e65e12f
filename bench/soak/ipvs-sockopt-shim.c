/*
 * keepalived's checkers without kernel IPVS (this machine has none): an LD_PRELOAD shim that
 * answers keepalived's IPVS socket options (the fallback libipvs uses when the IPVS generic
 * netlink family is absent) as an empty IPVS 1.2.1 would, so keepalived's health checkers run
 * unmodified. Every change keepalived makes (add/edit/delete of a real server) is appended to the
 * file named by $TKS_IPVS_LOG as "<unix seconds.ns> <op> <a.b.c.d>:<port> <weight>".
 * Only the IP_VS_SO_* options on IPPROTO_IP are touched; every other call goes to libc.
 * Built by bench/soak/keepalived-checkers.ts with: cc -shared -fPIC -O2 -o shim.so shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_SET_MAX (IP_VS_BASE_CTL + 15)
#define IP_VS_SO_SET_ADDDEST (IP_VS_BASE_CTL + 7)
#define IP_VS_SO_SET_DELDEST (IP_VS_BASE_CTL + 8)
#define IP_VS_SO_SET_EDITDEST (IP_VS_BASE_CTL + 9)
#define IP_VS_SO_GET_VERSION IP_VS_BASE_CTL
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_SO_GET_MAX (IP_VS_BASE_CTL + 7)

/* struct ip_vs_service_user (44 bytes) followed by struct ip_vs_dest_user */
#define DEST_OFFSET 44

static void record(const char *op, const void *val, socklen_t len) {
  const char *path = getenv("TKS_IPVS_LOG");
  if (!path || len < DEST_OFFSET + 16) return;
  const unsigned char *d = (const unsigned char *)val + DEST_OFFSET;
  uint16_t port;
  int32_t weight;
  memcpy(&port, d + 4, 2);
  memcpy(&weight, d + 12, 4);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char line[128];
  int n = snprintf(line, sizeof line, "%lld.%09ld %s %u.%u.%u.%u:%u %d\n", (long long)ts.tv_sec, ts.tv_nsec, op, d[0], d[1], d[2], d[3],
                   ntohs(port), weight);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) < 0) { /* nothing to do */ }
  close(fd);
}

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if (level == IPPROTO_IP && optname >= IP_VS_BASE_CTL && optname <= IP_VS_SO_SET_MAX) {
    if (optname == IP_VS_SO_SET_ADDDEST) record("add", optval, optlen);
    else if (optname == IP_VS_SO_SET_DELDEST) record("del", optval, optlen);
    else if (optname == IP_VS_SO_SET_EDITDEST) record("edit", optval, optlen);
    return 0;
  }
  if (!real) real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT, "setsockopt");
  return real(fd, level, optname, optval, optlen);
}

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen) {
  static int (*real)(int, int, int, void *, socklen_t *);
  if (level == IPPROTO_IP && optname >= IP_VS_BASE_CTL && optname <= IP_VS_SO_GET_MAX) {
    memset(optval, 0, *optlen);
    if (optname == IP_VS_SO_GET_VERSION) {
      snprintf((char *)optval, *optlen, "IP Virtual Server version 1.2.1 (size=4096)");
    } else if (optname == IP_VS_SO_GET_INFO && *optlen >= 12) {
      uint32_t info[3] = {0x010201, 4096, 0};
      memcpy(optval, info, sizeof info);
    }
    return 0;
  }
  if (!real) real = (int (*)(int, int, int, void *, socklen_t *))dlsym(RTLD_NEXT, "getsockopt");
  return real(fd, level, optname, optval, optlen);
}
