// Shared definitions for the Loracle kernels: GGUF block layouts, fp16 loads, warp reductions.
// Every .cu in this directory includes this file, so the PTX staleness digest covers it too.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

#define QK 32          // elements per Q8_0 / Q4_0 block (GGUF)
#define Q8_0_BYTES 34  // fp16 scale + 32 x int8
#define Q4_0_BYTES 18  // fp16 scale + 16 bytes of nibbles
#define WARP 32

// Blocks are byte-addressed: rows of Q8_0 blocks are 34-byte strided, so only 2-byte alignment is guaranteed.
__device__ __forceinline__ float load_half(const uint8_t* p) {
    return __half2float(*reinterpret_cast<const __half*>(p));
}

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int off = WARP / 2; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    #pragma unroll
    for (int off = WARP / 2; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// Block-wide sum; every thread gets the result. `shared` needs blockDim.x / 32 floats.
__device__ __forceinline__ float block_sum(float v, float* shared) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, nwarps = (blockDim.x + WARP - 1) / WARP;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? shared[lane] : 0.0f;
    if (warp == 0) t = warp_sum(t);
    if (threadIdx.x == 0) shared[0] = t;
    __syncthreads();
    return shared[0];
}

__device__ __forceinline__ float block_max(float v, float* shared) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, nwarps = (blockDim.x + WARP - 1) / WARP;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float t = lane < nwarps ? shared[lane] : -INFINITY;
    if (warp == 0) t = warp_max(t);
    if (threadIdx.x == 0) shared[0] = t;
    __syncthreads();
    return shared[0];
}
