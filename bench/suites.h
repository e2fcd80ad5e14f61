// SPDX-License-Identifier: BSD-2-Clause
// The benchmark suites. Each registers its benchmarks (for every built backend) from main()
// after Google Benchmark has parsed the command line.
#ifndef MULTICHAP_BENCH_SUITES_H
#define MULTICHAP_BENCH_SUITES_H

#include <string>
#include <vector>

namespace multichap::bench {

// Registers the backends compiled into this binary beside their plugins, as "openssl-static"
// and "botan-static" (bench/linked_in.cpp); call before any suite registers.
void register_linked_in_backends();
// The backends the suites measure: built_backends(), each linked-in one right after its plugin.
std::vector<std::string> bench_backends();

// hash/{raw,ours}/BACKEND/ALG/SIZE: digest throughput (bench/hash_bench.cpp).
void register_hash_benchmarks();
// chap_response|chap_verify/ours/BACKEND/ALG/CHALLENGE, challenge_random/ours/BACKEND/32,
// challenge_target/ours/BACKEND/ALG: CHAP operations; plugin_vs_static/ours/BACKEND/ALG/16:
// chap_response() through the plugin paired with the same backend linked in
// (bench/chap_bench.cpp).
void register_chap_benchmarks();
// login_inmemory/ours/BACKEND/ALG: a whole mutual CHAP exchange between ChapInitiator and
// ChapTarget with no transport (bench/exchange_bench.cpp).
void register_exchange_benchmarks();

// login_loopback/{ours,tgtd}/md5/N: N concurrent logins over loopback TCP against our target
// and against a tgtd started by the benchmark (bench/login_bench.cpp).
void register_login_benchmarks();
// serve_storm/*: the `multichap serve` process with 10,000 idle and dripping connections, and with
// 10,000 established sessions, while valid logins run (bench/serve_storm_bench.cpp).
void register_serve_storm_benchmarks();

}  // namespace multichap::bench

#endif  // MULTICHAP_BENCH_SUITES_H
