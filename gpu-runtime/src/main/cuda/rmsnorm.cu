// RMSNorm as in llama2.c: out = weight * x / sqrt(mean(x^2) + eps). One block per row of a batch.
#include "loracle_common.cuh"

// RMSNorm over rows of n values that need not be contiguous: row r is group r / perGroup, member r % perGroup, at
// x + group * groupStride + member * n (per-head q/k norms inside a fused qkv row: perGroup = heads). In place is
// fine. grid = rows, block = 256; each row is one block's fixed-tree reduction, whatever the number of rows.
extern "C" __global__ void rmsnorm_rows(float* out, const float* x, const float* weight, int n, float eps,
                                        int perGroup, int groupStride) {
    __shared__ float red[32];
    const size_t off = (size_t)(blockIdx.x / perGroup) * groupStride + (size_t)(blockIdx.x % perGroup) * n;
    const float* xr = x + off;
    float* outr = out + off;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) outr[i] = weight[i] * (inv * xr[i]);
}
