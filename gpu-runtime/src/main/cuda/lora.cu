// LoRA adapter kernels: A [rank x in] and B^T [rank x out], dense F32 row-major.
// UNMERGED: segmented shrink/expand over a step's rows; MERGED: one fused dequantize + B A + requantize per tensor.
#include "loracle_common.cuh"

// ------------------------------------------------------------------------- segmented (UNMERGED, batched)
// The rows of a step are grouped by adapter set (segments, as Punica/S-LoRA). Segment s = seg[4s..4s+3] = (first
// row, end row, first member, end member). Member m of a set: A [rank x cols] at memPtr[2m], B^T [rank x out] at
// memPtr[2m + 1], memInfo[2m] = rank, memInfo[2m + 1] = offset of its ranks in a row of t, memCoef[m] = w_m * s_m.
// Ranks differ freely (no padding). shrink: t[row][off_m + k] = A_m[k] . x[row];
// expand: y[row][o] += sum_m coef_m * (sum_k B^T_m[k][o] t[row][off_m + k]), members in set order.
// Batch invariance: each t element is reduced by one block and each y element by one thread, in a fixed order,
// whatever the number of rows or segments; no split-K, no atomics.

extern "C" {

// grid (max rank sum, nSeg), block 32..MM_THREADS (from cols alone).
__global__ void lora_shrink(float* t, int tStride, const float* x, int cols, const int* seg,
                            const unsigned long long* memPtr, const int* memInfo) {
    __shared__ float red[MM_TILE][MM_THREADS / WARP];
    const int k = blockIdx.x, s = blockIdx.y;
    const int first = seg[4 * s], count = seg[4 * s + 1] - first;
    int m = seg[4 * s + 2];
    while (m < seg[4 * s + 3] && k >= memInfo[2 * m + 1] + memInfo[2 * m]) m++;
    if (m == seg[4 * s + 3]) return;   // beyond this set's rank sum (uniform for the block)
    const float* a = reinterpret_cast<const float*>(memPtr[2 * m]) + (size_t)(k - memInfo[2 * m + 1]) * cols;
    for (int j0 = 0; j0 < count; j0 += MM_TILE) {
        const int nt = min(MM_TILE, count - j0);
        float acc[MM_TILE];
        #pragma unroll
        for (int b = 0; b < MM_TILE; b++) acc[b] = 0.0f;
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            const float av = a[i];
            #pragma unroll
            for (int b = 0; b < MM_TILE; b++) if (b < nt) acc[b] += av * x[(size_t)(first + j0 + b) * cols + i];
        }
        tile_reduce(acc, nt, red);
        if (threadIdx.x < nt) t[(size_t)(first + j0 + threadIdx.x) * tStride + k] = acc[0];
        __syncthreads();
    }
}

// grid (ceil(out / 128), nSeg), block 128.
__global__ void lora_expand(float* y, int yStride, const float* t, int tStride, int out, const int* seg,
                            const unsigned long long* memPtr, const int* memInfo, const float* memCoef) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (o >= out) return;
    for (int row = seg[4 * s]; row < seg[4 * s + 1]; row++) {
        const float* tr = t + (size_t)row * tStride;
        float total = 0.0f;
        for (int m = seg[4 * s + 2]; m < seg[4 * s + 3]; m++) {
            const float* bt = reinterpret_cast<const float*>(memPtr[2 * m + 1]);
            const int r = memInfo[2 * m], off = memInfo[2 * m + 1];
            float acc = 0.0f;
            for (int k = 0; k < r; k++) acc += bt[(size_t)k * out + o] * tr[off + k];
            total += memCoef[m] * acc;
        }
        y[(size_t)row * yStride + o] += total;
    }
}

}  // extern "C"

// ------------------------------------------------------------------------- MERGED attach, fused
// dst = requantize(dequantize(base) + B A) in one pass per 32-value block (Q8_0/Q4_0 packed layout) or per value
// (F32/F16): A [rank x cols] is the stacked set, bt = B^T [rank x rows] pre-scaled by w_i * s_i. base is only read.

extern "C" {

// grid (ceil(cols / 32 / 64), rows), block 64.
__global__ void lora_merge_q8_0p(uint8_t* dst, __half* dstSc, const uint8_t* base, const __half* sc, const float* a,
                                 const float* bt, int rows, int cols, int rank) {
    const int row = blockIdx.y, blk = blockIdx.x * blockDim.x + threadIdx.x, nb = cols / QK;
    if (blk >= nb) return;
    const float d = __half2float(sc[(size_t)row * nb + blk]);
    const int8_t* q = reinterpret_cast<const int8_t*>(base) + (size_t)row * cols + blk * QK;
    float v[QK];
    for (int j = 0; j < QK; j++) v[j] = d * (float)q[j];
    for (int k = 0; k < rank; k++) {
        const float b = bt[(size_t)k * rows + row];
        const float* ak = a + (size_t)k * cols + blk * QK;
        for (int j = 0; j < QK; j++) v[j] += b * ak[j];
    }
    const float nd = quant_q8_0_block(v, reinterpret_cast<int8_t*>(dst) + (size_t)row * cols + blk * QK);
    dstSc[(size_t)row * nb + blk] = __float2half_rn(nd);
}

__global__ void lora_merge_q4_0p(uint8_t* dst, __half* dstSc, const uint8_t* base, const __half* sc, const float* a,
                                 const float* bt, int rows, int cols, int rank) {
    const int row = blockIdx.y, blk = blockIdx.x * blockDim.x + threadIdx.x, nb = cols / QK;
    if (blk >= nb) return;
    const float d = __half2float(sc[(size_t)row * nb + blk]);
    const uint8_t* q = base + (size_t)row * (cols / 2) + blk * 16;
    float v[QK];
    for (int j = 0; j < 16; j++) {
        v[j] = d * (float)((q[j] & 0x0F) - 8);
        v[j + 16] = d * (float)((q[j] >> 4) - 8);
    }
    for (int k = 0; k < rank; k++) {
        const float b = bt[(size_t)k * rows + row];
        const float* ak = a + (size_t)k * cols + blk * QK;
        for (int j = 0; j < QK; j++) v[j] += b * ak[j];
    }
    const float nd = quant_q4_0_block(v, dst + (size_t)row * (cols / 2) + blk * 16);
    dstSc[(size_t)row * nb + blk] = __float2half_rn(nd);
}

// grid (ceil(cols / 256), rows), block 256.
__global__ void lora_merge_f32(float* dst, const float* base, const float* a, const float* bt, int rows, int cols, int rank) {
    const int row = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= cols) return;
    float v = base[(size_t)row * cols + i];
    for (int k = 0; k < rank; k++) v += bt[(size_t)k * rows + row] * a[(size_t)k * cols + i];
    dst[(size_t)row * cols + i] = v;
}

__global__ void lora_merge_f16(__half* dst, const __half* base, const float* a, const float* bt, int rows, int cols, int rank) {
    const int row = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= cols) return;
    float v = __half2float(base[(size_t)row * cols + i]);
    for (int k = 0; k < rank; k++) v += bt[(size_t)k * rows + row] * a[(size_t)k * cols + i];
    dst[(size_t)row * cols + i] = __float2half_rn(v);
}

}  // extern "C"
