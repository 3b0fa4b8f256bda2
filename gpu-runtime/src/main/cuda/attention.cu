// Grouped-query attention of a step's rows over their sequences' paged KV caches (layout and element formats:
// kv_cache.cuh).
#include "kv_cache.cuh"

// A token t of the step belongs to sequence slot tokSlot[t] at position tokPos[t]; the device addresses of the
// slot's blocks are blockTables[slot * maxBlocks + i] (the host resolves block ids to addresses once per step).
// Attention is split by a FIXED chunk of ATT_CHUNK positions (flash-decoding): each (chunk, head, token) block writes
// an unnormalised partial (max, sum, o[headDim]); attention_combine merges the chunks 0..pos/ATT_CHUNK in order. The split depends only on the token's position, never on the batch.
// F16 cache: q is rounded to half before the dots and each weight exp(s - chunk max) is rounded to half before it
// scales V (the chunk's sum stays F32). The split leaves no global normaliser at that point, so these are the
// unnormalised weights, not the normalised probabilities the CPU rounds: same relative rounding, not bit-identical.
#define ATT_CHUNK 128
#define ATT_THREADS 128

struct KvLayout {
    const unsigned long long* tables;
    long long layerOff;
    int maxBlocks, kvDim, nKv;
};

__device__ __forceinline__ const uint8_t* layer(const KvLayout& L, unsigned long long block) {
    return reinterpret_cast<const uint8_t*>(block) + L.layerOff;
}

// grid (maxChunks, nHeads, n), block ATT_THREADS. q: token t's query heads at q + t * qStride.
// partial: [n][nHeads][maxChunks][headSize + 2] = (o[headSize], max, sum).
template <class Kv>
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
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) qs[i] = Kv::round(q[(size_t)t * qStride + (size_t)h * headSize + i]);
    __syncthreads();
    const float scale = 1.0f / sqrtf((float)headSize);
    float s = -INFINITY;
    for (int j = threadIdx.x; j < span; j += blockDim.x) {
        const int p = c * ATT_CHUNK + j;
        s = Kv::dot(layer(L, table[p / KV_BLOCK]), p % KV_BLOCK, kvh, L.nKv, headSize, qs) * scale;
        e[j] = s;
    }
    const float mx = block_max(s, red);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < span; j += blockDim.x) {
        const float v = expf(e[j] - mx);
        e[j] = Kv::round(v);
        sum += v;
    }
    sum = block_sum(sum, red);
    __syncthreads();
    float* out = partial + (((size_t)t * nHeads + h) * maxChunks + c) * (headSize + 2);
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < span; j++) {
            const int p = c * ATT_CHUNK + j;
            acc += Kv::value(layer(L, table[p / KV_BLOCK]), p % KV_BLOCK, kvh, L.nKv, headSize, i, e[j]);
        }
        out[i] = acc;
    }
    if (threadIdx.x == 0) { out[headSize] = mx; out[headSize + 1] = sum; }
}

// One entry point per KV format (BatchKernels.attention picks attention_paged_<f32|f16|int8>).
#define ATTENTION_PAGED_ENTRY(name, Kv)                                                                             \
    extern "C" __global__ void name(float* partial, const float* q, int qStride, const unsigned long long* blockTables, \
                                    int maxBlocks, long long layerOff, int kvDim, int nKv, const int* tokSlot,       \
                                    const int* tokPos, int nHeads, int headSize) {                                   \
        attention_chunk<Kv>(partial, q, qStride, KvLayout{blockTables, layerOff, maxBlocks, kvDim, nKv}, tokSlot,   \
                            tokPos, nHeads, headSize);                                                               \
    }

ATTENTION_PAGED_ENTRY(attention_paged_f32, KvPlain<float>)
ATTENTION_PAGED_ENTRY(attention_paged_f16, KvPlain<__half>)
ATTENTION_PAGED_ENTRY(attention_paged_int8, KvInt8)

extern "C" {

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
