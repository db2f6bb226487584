{
  "targets": [
    {
      "target_name": "sigstack_native",
      "sources": ["native/ecdsa_digest.c"],
      "cflags": ["-O2"]
    }
  ]
}
