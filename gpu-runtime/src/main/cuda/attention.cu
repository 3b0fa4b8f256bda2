// Grouped-query attention of one token over the KV cache of one layer, and the cache writes.
// Cache layout per layer: rows of kvDim values per position. The int8 cache keeps one float scale
// per (position, kv head): s = max|x| / 127, q = round(x * 127 / max|x|), which keeps long contexts small.
#include "loracle_common.cuh"

extern "C" {

// Writes k and v of position pos into an F32 cache.
__global__ void kv_store_f32(float* kcache, float* vcache, const float* k, const float* v, int pos, int kvDim) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= kvDim) return;
    kcache[(size_t)pos * kvDim + i] = k[i];
    vcache[(size_t)pos * kvDim + i] = v[i];
}

// Quantizes k and v of position pos into an int8 cache; one block per kv head, blockDim >= headSize (<= 1024).
__global__ void kv_store_int8(int8_t* kq, float* kscale, int8_t* vq, float* vscale,
                              const float* k, const float* v, int pos, int nKvHeads, int headSize) {
    __shared__ float red[32];
    const int h = blockIdx.x, i = threadIdx.x;
    const size_t off = (size_t)pos * nKvHeads * headSize + (size_t)h * headSize + i;
    const float kx = i < headSize ? k[h * headSize + i] : 0.0f;
    const float vx = i < headSize ? v[h * headSize + i] : 0.0f;
    // Same arithmetic as the CPU cache: scale = amax / 127, q = round-half-up(x * (127 / amax)).
    const float kmax = block_max(fabsf(kx), red);
    const float vmax = block_max(fabsf(vx), red);
    const float ks = kmax / 127.0f, vs = vmax / 127.0f;
    const float kinv = kmax == 0.0f ? 0.0f : 127.0f / kmax;
    const float vinv = vmax == 0.0f ? 0.0f : 127.0f / vmax;
    if (i < headSize) {
        kq[off] = (int8_t)floorf(__fadd_rn(__fmul_rn(kx, kinv), 0.5f));
        vq[off] = (int8_t)floorf(__fadd_rn(__fmul_rn(vx, vinv), 0.5f));
    }
    if (i == 0) {
        kscale[(size_t)pos * nKvHeads + h] = ks;
        vscale[(size_t)pos * nKvHeads + h] = vs;
    }
}

// out[nHeads*headSize] = softmax(q.K^T / sqrt(headSize)) V over positions 0..pos; one block per query head.
// att is scratch of nHeads * seqLen floats (global memory, so long contexts need no big shared arrays).
__global__ void attention_f32(float* out, const float* q, const float* kcache, const float* vcache, float* att,
                              int pos, int seqLen, int nHeads, int nKvHeads, int headSize) {
    __shared__ float red[32];
    const int h = blockIdx.x, kvh = h / (nHeads / nKvHeads), kvDim = nKvHeads * headSize;
    const float* qh = q + (size_t)h * headSize;
    float* ah = att + (size_t)h * seqLen;
    const float scale = 1.0f / sqrtf((float)headSize);
    float mx = -INFINITY;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float* kt = kcache + (size_t)t * kvDim + (size_t)kvh * headSize;
        float s = 0.0f;
        for (int i = 0; i < headSize; i++) s += qh[i] * kt[i];
        s *= scale;
        ah[t] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float e = expf(ah[t] - mx);
        ah[t] = e;
        sum += e;
    }
    sum = block_sum(sum, red);
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) ah[t] = ah[t] / sum;
    __syncthreads();
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t <= pos; t++) acc += ah[t] * vcache[(size_t)t * kvDim + (size_t)kvh * headSize + i];
        out[(size_t)h * headSize + i] = acc;
    }
}

__global__ void attention_int8(float* out, const float* q, const int8_t* kq, const float* kscale,
                               const int8_t* vq, const float* vscale, float* att,
                               int pos, int seqLen, int nHeads, int nKvHeads, int headSize) {
    __shared__ float red[32];
    const int h = blockIdx.x, kvh = h / (nHeads / nKvHeads), kvDim = nKvHeads * headSize;
    const float* qh = q + (size_t)h * headSize;
    float* ah = att + (size_t)h * seqLen;
    const float scale = 1.0f / sqrtf((float)headSize);
    float mx = -INFINITY;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const int8_t* kt = kq + (size_t)t * kvDim + (size_t)kvh * headSize;
        float s = 0.0f;
        for (int i = 0; i < headSize; i++) s += qh[i] * (float)kt[i];
        s = s * kscale[(size_t)t * nKvHeads + kvh] * scale;
        ah[t] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_max(mx, red);
    float sum = 0.0f;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float e = expf(ah[t] - mx);
        ah[t] = e;
        sum += e;
    }
    sum = block_sum(sum, red);
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) ah[t] = ah[t] / sum;
    __syncthreads();
    for (int i = threadIdx.x; i < headSize; i += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t <= pos; t++) {
            acc += (ah[t] * vscale[(size_t)t * nKvHeads + kvh]) * (float)vq[(size_t)t * kvDim + (size_t)kvh * headSize + i];
        }
        out[(size_t)h * headSize + i] = acc;
    }
}

}  // extern "C"
