#include "loracle_common.cuh"

// RoPE of a step's tokens plus the KV store, in one kernel (paged KV layout: see attention.cu).
// qkv: token t's q heads, then k heads, then v heads at qkv + t * qkvStride. The angles come from host tables
// cosT/sinT [contextLength][headSize / 2] built exactly as the CPU backend builds its own (so styles, frequency
// factors and scaling are decided once, on the host). neox = 0: pairs (2i, 2i + 1) of each head (GGUF llama order);
// neox = 1: pairs (i, i + headSize / 2).
// grid = n tokens, block = 128 (4 warps; warp w quantizes kv heads w, w + 4, ... for the INT8 cache).
#define KV_BLOCK_R 16

__device__ __forceinline__ void rope_token(float* qkv, int nHeads, int nKv, int headSize, const float* cosT,
                                           const float* sinT, int pos, int neox) {
    const int half = headSize / 2, pairs = (nHeads + nKv) * half;
    for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
        const int head = p / half, j = p % half;
        float* v = qkv + (size_t)head * headSize;
        const int i0 = neox ? j : 2 * j, i1 = neox ? j + half : 2 * j + 1;
        const float fcr = cosT[(size_t)pos * half + j], fci = sinT[(size_t)pos * half + j];
        const float v0 = v[i0], v1 = v[i1];
        v[i0] = v0 * fcr - v1 * fci;
        v[i1] = v0 * fci + v1 * fcr;
    }
}

extern "C" __global__ void rope_kv_store_f32(float* qkv, int qkvStride, int nHeads, int nKv, int headSize,
                                             const float* cosT, const float* sinT, int neox,
                                             const unsigned long long* blockTables, int maxBlocks, long long layerOff,
                                             const int* tokSlot, const int* tokPos) {
    const int t = blockIdx.x, pos = tokPos[t], kvDim = nKv * headSize;
    float* row = qkv + (size_t)t * qkvStride;
    rope_token(row, nHeads, nKv, headSize, cosT, sinT, pos, neox);
    __syncthreads();
    const int p = pos % KV_BLOCK_R;
    float* kc = reinterpret_cast<float*>(blockTables[(size_t)tokSlot[t] * maxBlocks + pos / KV_BLOCK_R] + layerOff);
    const float* k = row + (size_t)nHeads * headSize;
    const float* v = k + kvDim;
    for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
        kc[(size_t)p * kvDim + i] = k[i];
        kc[(size_t)(KV_BLOCK_R + p) * kvDim + i] = v[i];
    }
}

// INT8 cache: per (position, kv head) scale = amax / 127, q = floor(x * (127 / amax) + 0.5), as kv_store_int8.
extern "C" __global__ void rope_kv_store_int8(float* qkv, int qkvStride, int nHeads, int nKv, int headSize,
                                              const float* cosT, const float* sinT, int neox,
                                              const unsigned long long* blockTables, int maxBlocks, long long layerOff,
                                              const int* tokSlot, const int* tokPos) {
    const int t = blockIdx.x, pos = tokPos[t], kvDim = nKv * headSize;
    float* row = qkv + (size_t)t * qkvStride;
    rope_token(row, nHeads, nKv, headSize, cosT, sinT, pos, neox);
    __syncthreads();
    const int p = pos % KV_BLOCK_R;
    uint8_t* base = reinterpret_cast<uint8_t*>(blockTables[(size_t)tokSlot[t] * maxBlocks + pos / KV_BLOCK_R] + layerOff);
    int8_t* kq = reinterpret_cast<int8_t*>(base);
    int8_t* vq = kq + (size_t)KV_BLOCK_R * kvDim;
    float* ks = reinterpret_cast<float*>(base + 2 * KV_BLOCK_R * kvDim);
    float* vs = ks + KV_BLOCK_R * nKv;
    const float* k = row + (size_t)nHeads * headSize;
    const float* v = k + kvDim;
    const int lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, nWarps = blockDim.x / WARP;
    for (int h = warp; h < nKv; h += nWarps) {
        float km = 0.0f, vm = 0.0f;
        for (int i = lane; i < headSize; i += WARP) {
            km = fmaxf(km, fabsf(k[h * headSize + i]));
            vm = fmaxf(vm, fabsf(v[h * headSize + i]));
        }
        km = warp_max(km);
        vm = warp_max(vm);
        const float kinv = km == 0.0f ? 0.0f : 127.0f / km, vinv = vm == 0.0f ? 0.0f : 127.0f / vm;
        for (int i = lane; i < headSize; i += WARP) {
            const size_t o = (size_t)p * kvDim + (size_t)h * headSize + i;
            kq[o] = (int8_t)floorf(__fadd_rn(__fmul_rn(k[h * headSize + i], kinv), 0.5f));
            vq[o] = (int8_t)floorf(__fadd_rn(__fmul_rn(v[h * headSize + i], vinv), 0.5f));
        }
        if (lane == 0) { ks[p * nKv + h] = km / 127.0f; vs[p * nKv + h] = vm / 127.0f; }
    }
}
