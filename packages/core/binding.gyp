{
  "targets": [
    {
      "target_name": "sigstack_native",
      "sources": ["native/ecdsa_digest.c", "native/ecdsa_fixed_key.c"],
      "cflags": ["-O2"]
    }
  ]
}
