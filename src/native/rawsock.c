/*
 * tskeepalived native socket layer: a thin, generic syscall surface over N-API.
 *
 * Every function returns a non-negative result or -errno; no exceptions are
 * thrown for system errors (the TypeScript side names errno values).
 * Sockaddrs and control messages are opaque Buffers built/parsed in TypeScript.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define MAX_ARGS 4

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error(env, NULL, "tskeepalived_native: " #call " failed");   \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, (int64_t)v, &out);
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = MAX_ARGS;
  napi_value tmp[MAX_ARGS];
  if (napi_get_cb_info(env, info, &argc, tmp, NULL, NULL) != napi_ok) return -1;
  for (size_t i = 0; i < want; i++) {
    if (i < argc) {
      argv[i] = tmp[i];
    } else {
      napi_get_undefined(env, &argv[i]);
    }
  }
  return 0;
}

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1;
}

/* Buffer argument; null/undefined gives data NULL, len 0. Returns -1 on type error. */
static int arg_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  napi_valuetype t;
  bool is_buf = false;
  *data = NULL;
  *len = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_null || t == napi_undefined) return 0;
  if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf) return -1;
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

#define TYPE_ERROR(msg)                          \
  do {                                           \
    napi_throw_type_error(env, NULL, msg);       \
    return NULL;                                 \
  } while (0)

/* socket(domain, type, protocol) -> fd | -errno ; always non-blocking, close-on-exec */
static napi_value js_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t domain, type, proto;
  CHECK(get_args(env, info, 3, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &domain) || arg_int(env, argv[1], &type) || arg_int(env, argv[2], &proto))
    TYPE_ERROR("socket(domain, type, protocol): integers expected");
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  return make_int(env, fd < 0 ? -errno : fd);
}

/* setsockopt(fd, level, name, value: int | Buffer) -> 0 | -errno */
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name, ival;
  napi_valuetype t;
  void *data;
  size_t len;
  int rc;
  CHECK(get_args(env, info, 4, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd) || arg_int(env, argv[1], &level) || arg_int(env, argv[2], &name))
    TYPE_ERROR("setsockopt(fd, level, name, value): integers expected");
  CHECK(napi_typeof(env, argv[3], &t));
  if (t == napi_number) {
    CHECK(napi_get_value_int32(env, argv[3], &ival));
    rc = setsockopt(fd, level, name, &ival, sizeof(ival));
  } else {
    if (arg_buffer(env, argv[3], &data, &len)) TYPE_ERROR("setsockopt: value must be an integer or a Buffer");
    rc = setsockopt(fd, level, name, data, (socklen_t)len);
  }
  return make_int(env, rc < 0 ? -errno : 0);
}

/* getsockopt(fd, level, name, buf) -> length written | -errno */
static napi_value js_getsockopt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd, level, name;
  void *data;
  size_t len;
  CHECK(get_args(env, info, 4, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd) || arg_int(env, argv[1], &level) || arg_int(env, argv[2], &name))
    TYPE_ERROR("getsockopt(fd, level, name, buf): integers expected");
  if (arg_buffer(env, argv[3], &data, &len) || data == NULL) TYPE_ERROR("getsockopt: buf must be a Buffer");
  socklen_t sl = (socklen_t)len;
  int rc = getsockopt(fd, level, name, data, &sl);
  return make_int(env, rc < 0 ? -errno : (int64_t)sl);
}

/* bind(fd, sockaddr: Buffer) -> 0 | -errno */
static napi_value js_bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t len;
  CHECK(get_args(env, info, 2, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("bind(fd, sockaddr): fd must be an integer");
  if (arg_buffer(env, argv[1], &data, &len) || data == NULL) TYPE_ERROR("bind: sockaddr must be a Buffer");
  int rc = bind(fd, (const struct sockaddr *)data, (socklen_t)len);
  return make_int(env, rc < 0 ? -errno : 0);
}

/* connect(fd, sockaddr: Buffer) -> 0 | -errno (-EINPROGRESS for a stream socket: it is non-blocking) */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t len;
  CHECK(get_args(env, info, 2, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("connect(fd, sockaddr): fd must be an integer");
  if (arg_buffer(env, argv[1], &data, &len) || data == NULL) TYPE_ERROR("connect: sockaddr must be a Buffer");
  int rc = connect(fd, (const struct sockaddr *)data, (socklen_t)len);
  return make_int(env, rc < 0 ? -errno : 0);
}

/* one helper for every signal the daemon takes through the pipe: write() is async-signal safe */
static int signal_pipe_wr = -1;

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t n = write(signal_pipe_wr, &b, 1); /* a full pipe drops the byte: signals coalesce anyway */
  (void)n;
  errno = saved;
}

/*
 * signalPipe(signums: number[]) -> read fd | -errno. Installs a handler for each signal number
 * (real-time ones included, which Node cannot catch) that writes the number as one byte to a
 * non-blocking pipe; the caller reads the returned end. One pipe per process: later calls add
 * signals to it and return the same read end.
 */
static int signal_pipe_rd = -1;

static napi_value js_signal_pipe(napi_env env, napi_callback_info info) {
  napi_value argv[1], el;
  uint32_t n;
  bool is_array;
  CHECK(get_args(env, info, 1, argv) == 0 ? napi_ok : napi_generic_failure);
  if (napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) TYPE_ERROR("signalPipe(signums): an array expected");
  CHECK(napi_get_array_length(env, argv[0], &n));
  if (signal_pipe_rd < 0) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return make_int(env, -errno);
    signal_pipe_rd = fds[0];
    signal_pipe_wr = fds[1];
  }
  for (uint32_t i = 0; i < n; i++) {
    int32_t sig;
    CHECK(napi_get_element(env, argv[0], i, &el));
    if (arg_int(env, el, &sig)) TYPE_ERROR("signalPipe: signal numbers must be integers");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0) return make_int(env, -errno);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  }
  return make_int(env, signal_pipe_rd);
}

/* signalRange() -> [SIGRTMIN, SIGRTMAX] of this libc (glibc 34..64, musl 35..64) */
static napi_value js_signal_range(napi_env env, napi_callback_info info) {
  napi_value out;
  (void)info;
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, make_int(env, SIGRTMIN)));
  CHECK(napi_set_element(env, out, 1, make_int(env, SIGRTMAX)));
  return out;
}

/* one buffer, an optional address and optional ancillary data: the msghdr of sendmsg and recvmsg */
static void fill_msghdr(struct msghdr *msg, struct iovec *iov, void *data, size_t dlen, void *name, size_t nlen,
                        void *ctl, size_t clen) {
  iov->iov_base = data;
  iov->iov_len = dlen;
  memset(msg, 0, sizeof(*msg));
  msg->msg_name = name;
  msg->msg_namelen = (socklen_t)nlen;
  msg->msg_iov = iov;
  msg->msg_iovlen = 1;
  msg->msg_control = ctl;
  msg->msg_controllen = clen;
}

/* sendmsg(fd, data: Buffer, sockaddr?: Buffer, cmsg?: Buffer) -> bytes sent | -errno */
static napi_value js_sendmsg(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t fd;
  void *data, *name, *ctl;
  size_t dlen, nlen, clen;
  CHECK(get_args(env, info, 4, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("sendmsg(fd, data, sockaddr, cmsg): fd must be an integer");
  if (arg_buffer(env, argv[1], &data, &dlen) || arg_buffer(env, argv[2], &name, &nlen) ||
      arg_buffer(env, argv[3], &ctl, &clen))
    TYPE_ERROR("sendmsg: data, sockaddr and cmsg must be Buffers (sockaddr/cmsg may be null)");
  struct iovec iov;
  struct msghdr msg;
  fill_msghdr(&msg, &iov, data, dlen, name, nlen, ctl, clen);
  ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  return make_int(env, n < 0 ? -errno : (int64_t)n);
}

/* recvmsg(fd, data, name?, ctl?) -> [bytes, namelen, ctllen, flags] | -errno */
static napi_value js_recvmsg(napi_env env, napi_callback_info info) {
  napi_value argv[4], out;
  int32_t fd;
  void *data, *name, *ctl;
  size_t dlen, nlen, clen;
  CHECK(get_args(env, info, 4, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("recvmsg(fd, data, name, ctl): fd must be an integer");
  if (arg_buffer(env, argv[1], &data, &dlen) || data == NULL || arg_buffer(env, argv[2], &name, &nlen) ||
      arg_buffer(env, argv[3], &ctl, &clen))
    TYPE_ERROR("recvmsg: data must be a Buffer; name and ctl Buffers or null");
  struct iovec iov;
  struct msghdr msg;
  fill_msghdr(&msg, &iov, data, dlen, name, nlen, ctl, clen);
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) return make_int(env, -errno);
  CHECK(napi_create_array_with_length(env, 4, &out));
  CHECK(napi_set_element(env, out, 0, make_int(env, (int64_t)n)));
  CHECK(napi_set_element(env, out, 1, make_int(env, (int64_t)msg.msg_namelen)));
  CHECK(napi_set_element(env, out, 2, make_int(env, (int64_t)msg.msg_controllen)));
  CHECK(napi_set_element(env, out, 3, make_int(env, (int64_t)msg.msg_flags)));
  return out;
}

/* ---- readability through uv_poll_t ---- */

typedef struct watcher {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int fd;
  int closing;
  struct watcher *next;
} watcher;

static watcher *watchers = NULL;

static watcher *find_watcher(int fd) {
  for (watcher *w = watchers; w; w = w->next)
    if (w->fd == fd && !w->closing) return w;
  return NULL;
}

static void unlink_watcher(watcher *w) {
  for (watcher **p = &watchers; *p; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      return;
    }
  }
}

static void on_watcher_closed(uv_handle_t *h) {
  watcher *w = (watcher *)h->data;
  unlink_watcher(w);
  free(w);
}

static void stop_watcher(watcher *w) {
  if (w->closing) return;
  w->closing = 1;
  uv_poll_stop(&w->handle);
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->async);
  uv_close((uv_handle_t *)&w->handle, on_watcher_closed);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  watcher *w = (watcher *)h->data;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_value cb, recv, arg, result;
  (void)events;
  if (w->closing) return;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, w->callback, &cb) == napi_ok && cb != NULL) {
    napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
    napi_create_int32(env, status, &arg);
    if (napi_make_callback(env, w->async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
      /* surface the callback's exception as an uncaught exception, not at the next N-API call */
      napi_value err;
      if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* poll(fd, callback(status)) -> 0 | -errno ; callback runs each time fd is readable */
static napi_value js_poll(napi_env env, napi_callback_info info) {
  napi_value argv[2], name;
  int32_t fd;
  napi_valuetype t;
  uv_loop_t *loop;
  CHECK(get_args(env, info, 2, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("poll(fd, callback): fd must be an integer");
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_function) TYPE_ERROR("poll: callback must be a function");
  if (find_watcher(fd)) return make_int(env, -EEXIST);
  CHECK(napi_get_uv_event_loop(env, &loop));
  watcher *w = (watcher *)calloc(1, sizeof(*w));
  if (!w) return make_int(env, -ENOMEM);
  w->env = env;
  w->fd = fd;
  int rc = uv_poll_init(loop, &w->handle, fd);
  if (rc < 0) {
    free(w);
    return make_int(env, rc); /* libuv errors are -errno on unix */
  }
  w->handle.data = w;
  CHECK(napi_create_reference(env, argv[1], 1, &w->callback));
  CHECK(napi_create_string_utf8(env, "tskeepalived:socket", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &w->async));
  w->next = watchers;
  watchers = w;
  rc = uv_poll_start(&w->handle, UV_READABLE, on_readable);
  if (rc < 0) {
    stop_watcher(w);
    return make_int(env, rc);
  }
  return make_int(env, 0);
}

/* pollStop(fd) -> 0 | -ENOENT */
static napi_value js_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  CHECK(get_args(env, info, 1, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("pollStop(fd): fd must be an integer");
  watcher *w = find_watcher(fd);
  if (!w) return make_int(env, -ENOENT);
  stop_watcher(w);
  return make_int(env, 0);
}

/* pollRef(fd, keepAlive) -> 0 | -ENOENT ; whether the watcher keeps the process alive */
static napi_value js_poll_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  bool keep;
  CHECK(get_args(env, info, 2, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd) || napi_get_value_bool(env, argv[1], &keep) != napi_ok)
    TYPE_ERROR("pollRef(fd, keepAlive): integer and boolean expected");
  watcher *w = find_watcher(fd);
  if (!w) return make_int(env, -ENOENT);
  if (keep)
    uv_ref((uv_handle_t *)&w->handle);
  else
    uv_unref((uv_handle_t *)&w->handle);
  return make_int(env, 0);
}

/* close(fd) -> 0 | -errno ; stops any watcher first */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  CHECK(get_args(env, info, 1, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd)) TYPE_ERROR("close(fd): fd must be an integer");
  watcher *w = find_watcher(fd);
  if (w) stop_watcher(w);
  return make_int(env, close(fd) < 0 ? -errno : 0);
}

/* setns(fd, nstype) -> 0 | -errno ; moves the calling thread (the main thread: JavaScript's) into a namespace */
static napi_value js_setns(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd, nstype;
  CHECK(get_args(env, info, 2, argv) == 0 ? napi_ok : napi_generic_failure);
  if (arg_int(env, argv[0], &fd) || arg_int(env, argv[1], &nstype)) TYPE_ERROR("setns(fd, nstype): integers expected");
  return make_int(env, setns(fd, nstype) < 0 ? -errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"socket", js_socket},   {"setsockopt", js_setsockopt}, {"getsockopt", js_getsockopt},
      {"bind", js_bind},       {"sendmsg", js_sendmsg},       {"recvmsg", js_recvmsg},
      {"poll", js_poll},       {"pollStop", js_poll_stop},    {"pollRef", js_poll_ref},
      {"close", js_close},     {"setns", js_setns},       {"connect", js_connect},
      {"signalPipe", js_signal_pipe}, {"signalRange", js_signal_range},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    napi_value f;
    CHECK(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(napi_set_named_property(env, exports, fns[i].name, f));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
