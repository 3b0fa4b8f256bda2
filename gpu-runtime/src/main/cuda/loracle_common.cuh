// Shared definitions for the Loracle kernels: the packed weight layout, warp/block reductions, quantizers.
// Every .cu in this directory includes this file, so the PTX staleness digest covers it too.
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

#define QK 32          // elements per Q8_0 / Q4_0 block (GGUF)
#define WARP 32

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

// ---- GPU weight layout ("packed"): a Q8_0 / Q4_0 matrix [rows x cols] is stored as all quants first, row-major
// and 16-byte aligned (Q8_0: cols bytes per row, Q4_0: cols/2 bytes per row, GGUF nibble order kept inside each
// 16-byte block), then the fp16 scales [rows x cols/32]. Same byte count as GGUF, so accounting does not change,
// but every thread can load 16 quant bytes at once. PackedLayout.java converts on upload.
#define PACK_CHUNK 16   // quant bytes one thread loads at a time

__device__ __forceinline__ float q8_byte(int w, int j) { return (float)(int8_t)(w >> (8 * j)); }
__device__ __forceinline__ float q4_lo(int w, int j) { return (float)((w >> (8 * j)) & 0xF) - 8.0f; }
__device__ __forceinline__ float q4_hi(int w, int j) { return (float)((w >> (8 * j + 4)) & 0xF) - 8.0f; }

// sum_j q_j x_j over 16 Q8_0 quants (4 words) and 16 activations, in a fixed order.
__device__ __forceinline__ float dot_q8_16(int4 q, const float* x) {
    const float4 x0 = reinterpret_cast<const float4*>(x)[0], x1 = reinterpret_cast<const float4*>(x)[1];
    const float4 x2 = reinterpret_cast<const float4*>(x)[2], x3 = reinterpret_cast<const float4*>(x)[3];
    float s = 0.0f;
    s += q8_byte(q.x, 0) * x0.x + q8_byte(q.x, 1) * x0.y + q8_byte(q.x, 2) * x0.z + q8_byte(q.x, 3) * x0.w;
    s += q8_byte(q.y, 0) * x1.x + q8_byte(q.y, 1) * x1.y + q8_byte(q.y, 2) * x1.z + q8_byte(q.y, 3) * x1.w;
    s += q8_byte(q.z, 0) * x2.x + q8_byte(q.z, 1) * x2.y + q8_byte(q.z, 2) * x2.z + q8_byte(q.z, 3) * x2.w;
    s += q8_byte(q.w, 0) * x3.x + q8_byte(q.w, 1) * x3.y + q8_byte(q.w, 2) * x3.z + q8_byte(q.w, 3) * x3.w;
    return s;
}

// One Q4_0 block (16 bytes = 32 quants): byte j holds element j (low nibble) and j + 16 (high nibble).
__device__ __forceinline__ float dot_q4_32(int4 q, const float* x) {
    const int w[4] = {q.x, q.y, q.z, q.w};
    float lo = 0.0f, hi = 0.0f;
    #pragma unroll
    for (int k = 0; k < 4; k++) {
        const float4 a = reinterpret_cast<const float4*>(x)[k];
        const float4 b = reinterpret_cast<const float4*>(x + 16)[k];
        lo += q4_lo(w[k], 0) * a.x + q4_lo(w[k], 1) * a.y + q4_lo(w[k], 2) * a.z + q4_lo(w[k], 3) * a.w;
        hi += q4_hi(w[k], 0) * b.x + q4_hi(w[k], 1) * b.y + q4_hi(w[k], 2) * b.z + q4_hi(w[k], 3) * b.w;
    }
    return lo + hi;
}

// llama.cpp's reference rounding (quantize_row_q8_0_ref / q4_0_ref) of one 32-value block, so the fused merge
// produces the bytes the CPU would from the same floats.
__device__ __forceinline__ float quant_q8_0_block(const float* x, int8_t* qs) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) qs[j] = (int8_t)roundf(x[j] * id);
    return d;
}

__device__ __forceinline__ float quant_q4_0_block(const float* x, uint8_t* qs) {
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < QK; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) { amax = fabsf(v); mx = v; }
    }
    const float d = mx / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK / 2; j++) {
        // __fmul_rn/__fadd_rn keep nvcc from fusing into an fma, which would round differently from llama.cpp.
        const int xi0 = min(15, (int)(int8_t)__fadd_rn(__fmul_rn(x[j], id), 8.5f));
        const int xi1 = min(15, (int)(int8_t)__fadd_rn(__fmul_rn(x[j + QK / 2], id), 8.5f));
        qs[j] = (uint8_t)(xi0 | (xi1 << 4));
    }
    return d;
}

// ---- token tiles of the batched kernels (packed.cu, lora.cu): one block reduces MM_TILE tokens at a time.
#define MM_THREADS 128   // most threads of one row's block; the host picks 32..128 from the row length only
#define MM_TILE 8

// Sums acc[b] over the block in a fixed tree; afterwards thread b (< nt) holds token b's total in its acc[0].
__device__ __forceinline__ void tile_reduce(float* acc, int nt, float (*red)[MM_THREADS / WARP]) {
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP;
    #pragma unroll
    for (int b = 0; b < MM_TILE; b++) {
        if (b < nt) {   // nt is the same for the whole block: no divergence around the shuffles
            const float s = warp_sum(acc[b]);
            if (lane == 0) red[b][warp] = s;
        }
    }
    __syncthreads();
    if (threadIdx.x < nt) {
        float s = 0.0f;
        for (int k = 0; k < blockDim.x / WARP; k++) s += red[threadIdx.x][k];
        acc[0] = s;
    }
}

