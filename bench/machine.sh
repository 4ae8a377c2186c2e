# Sourced by the bench scripts that record a machine's figures (cpu_check.sh, gpu_check.sh):
# the CPU lines every results file starts with, and the header both scan.
# The Bitcoin genesis block's header; its nonce (2083236893) lies past the first 2^30.
HF_GENESIS_HEADER=0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c

# Date, CPU model, family/model/stepping, cores and the vector and SHA features.
hf_cpu_lines() {
  date -u +%FT%TZ
  grep -m1 'model name' /proc/cpuinfo
  echo "family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    "model $(grep -m1 -E '^model\s' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    "stepping $(grep -m1 stepping /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "cores: $(nproc)  flags: $(grep -m1 -o -w -E 'avx2|avx512f|avx512vl|avx512bw|avx512_vbmi2|sha_ni' /proc/cpuinfo |
    sort -u | tr '\n' ' ')"
}
