// HOST EMULATION of the CUDA C subset our kernels use, for tests on machines without a GPU. NOT a GPU: it runs the
// kernel sources on the CPU with one cooperative fiber per CUDA thread, so that the kernels' indexing, reductions,
// shuffles and barriers can be checked against the reference. Timing, memory coalescing, the driver and the PTX JIT
// are not exercised. Blocks run one after another; the threads of a block interleave only at __syncthreads and
// warp shuffles, which is all the synchronisation the kernels rely on.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include <algorithm>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
// Shared memory: blocks run sequentially, so one static instance per declaration is exactly "per block".
#define __shared__ static

typedef _Float16 __half;
static inline float __half2float(__half h) { return (float)h; }
static inline __half __float2half_rn(float f) { return (__half)f; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

struct uint3 { unsigned x, y, z; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) float4 { float x, y, z, w; };
#define __restrict__
extern thread_local uint3 threadIdx, blockIdx, blockDim, gridDim;

void emu_syncthreads();
float emu_shfl_xor(float v, int laneMask);
#define __syncthreads() emu_syncthreads()
#define __shfl_xor_sync(mask, v, off) emu_shfl_xor((v), (off))
