#include "kv_cache.cuh"

// RoPE of a step's tokens plus the KV store, in one kernel (paged KV layout: kv_cache.cuh).
// qkv: token t's q heads, then k heads, then v heads at qkv + t * qkvStride. The angles come from host tables
// cosT/sinT [contextLength][headSize / 2] built exactly as the CPU backend builds its own (so styles, frequency
// factors and scaling are decided once, on the host). neox = 0: pairs (2i, 2i + 1) of each head (GGUF llama order);
// neox = 1: pairs (i, i + headSize / 2).
// grid = n tokens, block = 128 (4 warps; the INT8 store quantizes one kv head per warp).

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

template <class Kv>
__device__ __forceinline__ void rope_kv_store(float* qkv, int qkvStride, int nHeads, int nKv, int headSize,
                                              const float* cosT, const float* sinT, int neox,
                                              const unsigned long long* blockTables, int maxBlocks, long long layerOff,
                                              const int* tokSlot, const int* tokPos) {
    const int t = blockIdx.x, pos = tokPos[t];
    float* row = qkv + (size_t)t * qkvStride;
    rope_token(row, nHeads, nKv, headSize, cosT, sinT, pos, neox);
    __syncthreads();
    uint8_t* layer = reinterpret_cast<uint8_t*>(blockTables[(size_t)tokSlot[t] * maxBlocks + pos / KV_BLOCK] + layerOff);
    const float* k = row + (size_t)nHeads * headSize;
    Kv::store(layer, pos % KV_BLOCK, k, k + (size_t)nKv * headSize, nKv, headSize);
}

// One entry point per KV format (BatchKernels.ropeKvStore picks rope_kv_store_<f32|f16|int8>).
#define ROPE_KV_STORE_ENTRY(name, Kv)                                                                               \
    extern "C" __global__ void name(float* qkv, int qkvStride, int nHeads, int nKv, int headSize, const float* cosT, \
                                    const float* sinT, int neox, const unsigned long long* blockTables, int maxBlocks, \
                                    long long layerOff, const int* tokSlot, const int* tokPos) {                    \
        rope_kv_store<Kv>(qkv, qkvStride, nHeads, nKv, headSize, cosT, sinT, neox, blockTables, maxBlocks, layerOff, \
                          tokSlot, tokPos);                                                                          \
    }

ROPE_KV_STORE_ENTRY(rope_kv_store_f32, KvPlain<float>)
ROPE_KV_STORE_ENTRY(rope_kv_store_f16, KvPlain<__half>)
ROPE_KV_STORE_ENTRY(rope_kv_store_int8, KvInt8)
