// RMSNorm as in llama2.c: out = weight * x / sqrt(mean(x^2) + eps). One block per row of a batch.
#include "loracle_common.cuh"

extern "C" __global__ void rmsnorm_f32(float* out, const float* x, const float* weight, int n, float eps) {
    __shared__ float red[32];
    const float* xr = x + (size_t)blockIdx.x * n;
    float* outr = out + (size_t)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    const float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) outr[i] = weight[i] * (inv * xr[i]);
}
