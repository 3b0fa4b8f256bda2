// The paged KV cache, shared by the RoPE + store kernel (rope.cu) and attention (attention.cu): its layout and one
// access type per element format (KvPlain<float>, KvPlain<__half>, KvInt8) that those kernels are templated on.
// DeviceKvLayout.java mirrors the layout. Blocks of KV_BLOCK positions x all layers; a block's layer l starts at
// (block address) + l * layerBytes:
//   F32:  K float[KV_BLOCK][kvDim], V float[KV_BLOCK][kvDim]
//   F16:  K half[KV_BLOCK][kvDim], V half[KV_BLOCK][kvDim] (IEEE binary16, rounded to nearest even from F32)
//   INT8: K int8[KV_BLOCK][kvDim], V int8[KV_BLOCK][kvDim], K scales float[KV_BLOCK][nKv], V scales float[KV_BLOCK][nKv]
#pragma once
#include "loracle_common.cuh"

#define KV_BLOCK 16

__device__ __forceinline__ float kv_load(float x) { return x; }
__device__ __forceinline__ float kv_load(__half x) { return __half2float(x); }
template <typename E> __device__ __forceinline__ E kv_elem(float x);
template <> __device__ __forceinline__ float kv_elem<float>(float x) { return x; }
template <> __device__ __forceinline__ __half kv_elem<__half>(float x) { return __float2half_rn(x); }

// F32 or F16 rows. round() is how q and the softmax weights enter the products: unchanged for F32; rounded to half
// for F16, so that K.q and V.p are products of two halves (exact in F32) accumulated in F32.
template <typename E> struct KvPlain {
    __device__ static float round(float x) { return kv_load(kv_elem<E>(x)); }

    // Stores k and v (kvDim floats each) at slot p of `layer`; every thread of the block takes part.
    __device__ static void store(uint8_t* layer, int p, const float* k, const float* v, int nKv, int headSize) {
        const int kvDim = nKv * headSize;
        E* kc = reinterpret_cast<E*>(layer);
        for (int i = threadIdx.x; i < kvDim; i += blockDim.x) {
            kc[(size_t)p * kvDim + i] = kv_elem<E>(k[i]);
            kc[(size_t)(KV_BLOCK + p) * kvDim + i] = kv_elem<E>(v[i]);
        }
    }

    // q . key(p, kvh), in element order.
    __device__ static float dot(const uint8_t* layer, int p, int kvh, int nKv, int hs, const float* q) {
        const E* k = reinterpret_cast<const E*>(layer) + (size_t)p * nKv * hs + (size_t)kvh * hs;
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += q[i] * kv_load(k[i]);
        return s;
    }

    // w * value(p, kvh)[i].
    __device__ static float value(const uint8_t* layer, int p, int kvh, int nKv, int hs, int i, float w) {
        const E* v = reinterpret_cast<const E*>(layer) + (size_t)(KV_BLOCK + p) * nKv * hs + (size_t)kvh * hs;
        return w * kv_load(v[i]);
    }
};

// INT8 rows: per (position, kv head) scale = amax / 127, q = floor(x * (127 / amax) + 0.5), as the CPU cache.
struct KvInt8 {
    __device__ static float round(float x) { return x; }

    // Warp w quantizes kv heads w, w + nWarps, ... (blockDim.x a multiple of 32).
    __device__ static void store(uint8_t* layer, int p, const float* k, const float* v, int nKv, int headSize) {
        const int kvDim = nKv * headSize;
        int8_t* kq = reinterpret_cast<int8_t*>(layer);
        int8_t* vq = kq + (size_t)KV_BLOCK * kvDim;
        float* ks = reinterpret_cast<float*>(layer + 2 * KV_BLOCK * kvDim);
        float* vs = ks + KV_BLOCK * nKv;
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

    __device__ static float dot(const uint8_t* layer, int p, int kvh, int nKv, int hs, const float* q) {
        const int8_t* k = reinterpret_cast<const int8_t*>(layer) + (size_t)p * nKv * hs + (size_t)kvh * hs;
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += q[i] * (float)k[i];
        const float* ks = reinterpret_cast<const float*>(layer + 2 * KV_BLOCK * nKv * hs);
        return s * ks[p * nKv + kvh];
    }

    __device__ static float value(const uint8_t* layer, int p, int kvh, int nKv, int hs, int i, float w) {
        const int8_t* v = reinterpret_cast<const int8_t*>(layer) + (size_t)(KV_BLOCK + p) * nKv * hs + (size_t)kvh * hs;
        const float* vs = reinterpret_cast<const float*>(layer + 2 * KV_BLOCK * nKv * hs) + KV_BLOCK * nKv;
        return (w * vs[p * nKv + kvh]) * (float)v[i];
    }
};
