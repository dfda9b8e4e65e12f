{
  "targets": [
    {
      "target_name": "tskeepalived_native",
      "sources": ["src/native/rawsock.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
