// Element-wise steps of the forward pass: residual add, SwiGLU of unfused gate/up rows, bias add, row gather.
#include "loracle_common.cuh"

extern "C" {

// x += y
__global__ void add_f32(float* x, const float* y, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

}  // extern "C"

extern "C" {

// h[t][i] = silu(gu[t][i]) * gu[t][hidden + i] (gate and up side by side, when low-rank deltas were added to them).
__global__ void swiglu_rows(float* h, const float* gu, int hidden, int n) {
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (long long)hidden * n) return;
    const int t = (int)(k / hidden), i = (int)(k % hidden);
    const float g = gu[(size_t)t * 2 * hidden + i];
    h[k] = g / (1.0f + expf(-g)) * gu[(size_t)t * 2 * hidden + hidden + i];
}

// y[t * stride + i] += bias[i] for i < m, t < n.
__global__ void add_bias_rows(float* y, const float* bias, int m, int stride, int n) {
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (long long)m * n) return;
    const int t = (int)(k / m), i = (int)(k % m);
    y[(size_t)t * stride + i] += bias[i];
}

// dst[j] = src[idx[j]] (rows of cols floats), j < m: the rows that want logits.
__global__ void gather_rows(float* dst, const float* src, const int* idx, int cols, int m) {
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (long long)m * cols) return;
    const int j = (int)(k / cols), i = (int)(k % cols);
    dst[k] = src[(size_t)idx[j] * cols + i];
}

}  // extern "C"

// dst = src in 16-byte words, grid-stride: the bench's roofline (device copy bandwidth, read + write).
extern "C" __global__ void copy_words(int4* dst, const int4* src, long long words) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < words; i += (long long)gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}
