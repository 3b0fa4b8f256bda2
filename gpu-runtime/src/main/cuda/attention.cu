// Grouped-query attention of a step's rows over their sequences' paged KV caches. The int8 cache keeps one float
// scale per (position, kv head): s = max|x| / 127, q = round(x * 127 / max|x|), which keeps long contexts small.
#include "loracle_common.cuh"

// Paged KV: blocks of KV_BLOCK positions x all layers; a block's layer l starts at (block address) + l * layerBytes:
//   F32:  K float[KV_BLOCK][kvDim], V float[KV_BLOCK][kvDim]
//   INT8: K int8[KV_BLOCK][kvDim], V int8[KV_BLOCK][kvDim], K scales float[KV_BLOCK][nKv], V scales float[KV_BLOCK][nKv]
// A token t of the step belongs to sequence slot tokSlot[t] at position tokPos[t]; the device addresses of the
// slot's blocks are blockTables[slot * maxBlocks + i] (the host resolves block ids to addresses once per step).
// Attention is split by a FIXED chunk of ATT_CHUNK positions (flash-decoding): each (chunk, head, token) block writes an unnormalised partial (max, sum, o[headDim]); attention_combine merges the
// chunks 0..pos/ATT_CHUNK in order. The split depends only on the token's position, never on the batch.
#define KV_BLOCK 16
#define ATT_CHUNK 128
#define ATT_THREADS 128

struct KvLayout {
    const unsigned long long* tables;
    long long layerOff;
    int maxBlocks, kvDim, nKv;
};

template <bool INT8>
__device__ __forceinline__ float kv_dot(const KvLayout& L, unsigned long long block, int p, int kvh, int hs, const float* q) {
    const uint8_t* b = reinterpret_cast<const uint8_t*>(block) + L.layerOff;
    float s = 0.0f;
    if (!INT8) {
        const float* k = reinterpret_cast<const float*>(b) + (size_t)p * L.kvDim + (size_t)kvh * hs;
        for (int i = 0; i < hs; i++) s += q[i] * k[i];
    } else {
        const int8_t* k = reinterpret_cast<const int8_t*>(b) + (size_t)p * L.kvDim + (size_t)kvh * hs;
        for (int i = 0; i < hs; i++) s += q[i] * (float)k[i];
        const float* ks = reinterpret_cast<const float*>(b + 2 * KV_BLOCK * L.kvDim);
        s *= ks[p * L.nKv + kvh];
    }
    return s;
}

template <bool INT8>
__device__ __forceinline__ float kv_v(const KvLayout& L, unsigned long long block, int p, int kvh, int hs, int i, float e) {
    const uint8_t* b = reinterpret_cast<const uint8_t*>(block) + L.layerOff;
    if (!INT8) {
        const float* v = reinterpret_cast<const float*>(b) + (size_t)KV_BLOCK * L.kvDim + (size_t)p * L.kvDim + (size_t)kvh * hs;
        return e * v[i];
    }
    const int8_t* v = reinterpret_cast<const int8_t*>(b) + (size_t)KV_BLOCK * L.kvDim + (size_t)p * L.kvDim + (size_t)kvh * hs;
    const float* vs = reinterpret_cast<const float*>(b + 2 * KV_BLOCK * L.kvDim) + KV_BLOCK * L.nKv;
    return (e * vs[p * L.nKv + kvh]) * (float)v[i];
}

// grid (maxChunks, nHeads, n), block ATT_THREADS. q: token t's query heads at q + t * qStride.
// partial: [n][nHeads][maxChunks][headSize + 2] = (o[headSize], max, sum).
template <bool INT8>
__device__ __forceinline__ void attention_chunk(float* partial, const float* q, int qStride, KvLayout L,
                                                const int* tokSlot, const int* tokPos, int nHeads, int headSize) {
    __shared__ float red[32];
    __shared__ float qs[1024];
    __shared__ float e[ATT_CHUNK];
    const int c = blockIdx.x, h = blockIdx.y, t = blockIdx.z, maxChunks = gridDim.x;
    const int pos = tokPos[t], slot = tokSlot[t];
    if (c * ATT_CHUNK > pos) return;   // whole block: no barrier below is skipped by only some threads
    const int kvh = h / (nHeads / L.nKv);
    const int end = min(pos + 1, (c + 1) * ATT_CHUNK), span = end - c * ATT_CHUNK;
    const unsigned long long* table = L.tables + (size_t)slot * L.maxBlocks;
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) qs[i] = q[(size_t)t * qStride + (size_t)h * headSize + i];
    __syncthreads();
    const float scale = 1.0f / sqrtf((float)headSize);
    float s = -INFINITY;
    for (int j = threadIdx.x; j < span; j += blockDim.x) {
        const int p = c * ATT_CHUNK + j;
        s = kv_dot<INT8>(L, table[p / KV_BLOCK], p % KV_BLOCK, kvh, headSize, qs) * scale;
        e[j] = s;
    }
    const float mx = block_max(s, red);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < span; j += blockDim.x) {
        const float v = expf(e[j] - mx);
        e[j] = v;
        sum += v;
    }
    sum = block_sum(sum, red);
    __syncthreads();
    float* out = partial + (((size_t)t * nHeads + h) * maxChunks + c) * (headSize + 2);
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < span; j++) {
            const int p = c * ATT_CHUNK + j;
            acc += kv_v<INT8>(L, table[p / KV_BLOCK], p % KV_BLOCK, kvh, headSize, i, e[j]);
        }
        out[i] = acc;
    }
    if (threadIdx.x == 0) { out[headSize] = mx; out[headSize + 1] = sum; }
}

extern "C" {

__global__ void attention_paged_f32(float* partial, const float* q, int qStride, const unsigned long long* blockTables,
                                    int maxBlocks, long long layerOff, int kvDim, int nKv, const int* tokSlot,
                                    const int* tokPos, int nHeads, int headSize) {
    attention_chunk<false>(partial, q, qStride, KvLayout{blockTables, layerOff, maxBlocks, kvDim, nKv}, tokSlot, tokPos,
                           nHeads, headSize);
}

__global__ void attention_paged_int8(float* partial, const float* q, int qStride, const unsigned long long* blockTables,
                                     int maxBlocks, long long layerOff, int kvDim, int nKv, const int* tokSlot,
                                     const int* tokPos, int nHeads, int headSize) {
    attention_chunk<true>(partial, q, qStride, KvLayout{blockTables, layerOff, maxBlocks, kvDim, nKv}, tokSlot, tokPos,
                          nHeads, headSize);
}

// grid (nHeads, n), block >= 32. out[t][h * headSize + i] = sum_c e^(m_c - M) o_c[i] / sum_c e^(m_c - M) l_c,
// chunks in order 0..pos / ATT_CHUNK.
__global__ void attention_combine(float* out, int outStride, const float* partial, const int* tokPos, int maxChunks,
                                  int nHeads, int headSize) {
    const int h = blockIdx.x, t = blockIdx.y;
    const int nc = tokPos[t] / ATT_CHUNK + 1;
    const float* base = partial + ((size_t)t * nHeads + h) * maxChunks * (headSize + 2);
    float m = -INFINITY;
    for (int c = 0; c < nc; c++) m = fmaxf(m, base[(size_t)c * (headSize + 2) + headSize]);
    float l = 0.0f;
    for (int c = 0; c < nc; c++) {
        const float* pc = base + (size_t)c * (headSize + 2);
        l += expf(pc[headSize] - m) * pc[headSize + 1];
    }
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) {
        float o = 0.0f;
        for (int c = 0; c < nc; c++) {
            const float* pc = base + (size_t)c * (headSize + 2);
            o += expf(pc[headSize] - m) * pc[i];
        }
        out[(size_t)t * outStride + (size_t)h * headSize + i] = o / l;
    }
}

}  // extern "C"
