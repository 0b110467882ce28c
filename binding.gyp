{
  "targets": [
    {
      "target_name": "dpow_pow",
      "sources": ["src/pow/native/pow.c"],
      "cflags": ["-O3", "-fno-strict-aliasing"],
      "cflags!": ["-O2"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] },
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
