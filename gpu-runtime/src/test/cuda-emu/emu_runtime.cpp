// Fiber scheduler of the host emulation (see cuda_emu.h) and the C entry point the Java tests call through FFM.
#include "cuda_emu.h"
#include <cstdio>
#include <string>
#include <unordered_map>
#include <functional>
#include <tuple>

thread_local uint3 threadIdx, blockIdx, blockDim, gridDim;

namespace {
enum State { RUNNING, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };
// Minimal x86-64 context switch: saves the callee-saved registers on the current stack, swaps stack pointers.
asm(R"(
    .text
    .globl emu_ctx_switch
    .type emu_ctx_switch,@function
emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_ctx_switch, .-emu_ctx_switch
)");
extern "C" void emu_ctx_switch(void** saveSp, void** loadSp);

struct Fiber {
    void* sp = nullptr;
    State state = RUNNING;
    uint3 tid;
    int lane, warp;
    int shflPhase = 0;
};
struct Block {
    std::vector<Fiber> fibers;
    std::vector<std::vector<char>> stacks;
    float xchg[2][32][32];
    void* schedSp = nullptr;
    Fiber* current = nullptr;
    std::function<void()> body;
};
Block B;
const size_t STACK = 16 * 1024;

void yield(State s) {
    Fiber* f = B.current;
    f->state = s;
    emu_ctx_switch(&f->sp, &B.schedSp);
}

void entry() {
    B.body();
    B.current->state = DONE;
    emu_ctx_switch(&B.current->sp, &B.schedSp);   // never resumed
    __builtin_trap();
}

// A fresh stack that "returns" into entry() on the first switch: six zero registers, then entry's address, then a
// dummy return slot, so that entry starts with the stack alignment of a normal call (rsp % 16 == 8).
void* freshStack(char* base, size_t size) {
    uintptr_t top = ((uintptr_t)(base + size)) & ~(uintptr_t)15;
    void** sp = (void**)top;
    *--sp = nullptr;                    // dummy return address of entry
    *--sp = (void*)&entry;              // popped by ret
    for (int i = 0; i < 6; i++) *--sp = nullptr;   // rbp rbx r12 r13 r14 r15
    return sp;
}

void resume(Fiber& f) {
    B.current = &f;
    threadIdx = f.tid;
    emu_ctx_switch(&B.schedSp, &f.sp);
}

// Runs every thread of one block to completion; returns false on a deadlock (threads waiting forever).
bool runBlock(int nThreads) {
    if ((int)B.stacks.size() < nThreads) B.stacks.resize(nThreads, std::vector<char>(STACK));
    B.fibers.assign(nThreads, Fiber{});
    for (int t = 0; t < nThreads; t++) {
        Fiber& f = B.fibers[t];
        f.tid = {(unsigned)(t % blockDim.x), (unsigned)((t / blockDim.x) % blockDim.y), (unsigned)(t / (blockDim.x * blockDim.y))};
        f.lane = t % 32;
        f.warp = t / 32;
        f.sp = freshStack(B.stacks[t].data(), STACK);
    }
    int nWarps = (nThreads + 31) / 32;
    for (;;) {
        bool ran = false;
        for (int t = 0; t < nThreads; t++) {
            Fiber& f = B.fibers[t];
            if (f.state != RUNNING) continue;
            resume(f);
            ran = true;
        }
        int live = 0, atBlock = 0;
        for (auto& f : B.fibers) { if (f.state != DONE) live++; if (f.state == AT_BLOCK_BARRIER) atBlock++; }
        if (live == 0) return true;
        bool released = false;
        for (int w = 0; w < nWarps; w++) {
            int wl = 0, wAt = 0;
            for (int t = w * 32; t < std::min(nThreads, w * 32 + 32); t++) {
                if (B.fibers[t].state != DONE) wl++;
                if (B.fibers[t].state == AT_WARP_BARRIER) wAt++;
            }
            if (wl > 0 && wAt == wl) {
                for (int t = w * 32; t < std::min(nThreads, w * 32 + 32); t++) B.fibers[t].state = RUNNING;
                released = true;
            }
        }
        if (atBlock == live) {
            for (auto& f : B.fibers) if (f.state == AT_BLOCK_BARRIER) f.state = RUNNING;
            released = true;
        }
        if (!ran && !released) return false;
    }
}
}  // namespace

void emu_syncthreads() { yield(AT_BLOCK_BARRIER); }

// One warp barrier per shuffle: consecutive shuffles alternate between two exchange buffers, so a lane cannot
// overwrite a value another lane has yet to read (that lane must first reach the next barrier).
float emu_shfl_xor(float v, int laneMask) {
    Fiber* f = B.current;
    int w = f->warp, l = f->lane, p = f->shflPhase;
    f->shflPhase ^= 1;
    B.xchg[p][w][l] = v;
    yield(AT_WARP_BARRIER);
    return B.xchg[p][w][l ^ laneMask];
}

// ------------------------------------------------------------------------------------------- the kernels
#include "../../main/cuda/rmsnorm.cu"
#include "../../main/cuda/rope.cu"
#include "../../main/cuda/attention.cu"
#include "../../main/cuda/elementwise.cu"
#include "../../main/cuda/sampling.cu"
#include "../../main/cuda/lora.cu"
#include "../../main/cuda/packed.cu"

namespace {
// Unpacks the argument block (each argument at its PTX width: pointers and long long 8 bytes, int and float 4).
struct Args {
    const unsigned char* p;
    template <typename T> T next() {
        T v;
        std::memcpy(&v, p, sizeof(T));
        p += sizeof(T);
        return v;
    }
};
struct Kernel {
    std::function<void(const unsigned char*)> run;
    bool barriers;   // uses __syncthreads or warp shuffles: threads must run as fibers
};
template <typename... A>
std::function<void(const unsigned char*)> bind(void (*k)(A...)) {
    return [k](const unsigned char* buf) {
        Args a{buf};
        // braced init list: arguments are read left to right
        std::tuple<A...> t{a.next<A>()...};
        std::apply(k, t);
    };
}
const std::unordered_map<std::string, Kernel>& table() {
    static const std::unordered_map<std::string, Kernel> t = {
        {"add_f32", {bind(add_f32), false}}, {"copy_words", {bind(copy_words), false}},
        {"mm_q8_0p", {bind(mm_q8_0p), true}}, {"mm_q4_0p", {bind(mm_q4_0p), true}},
        {"mm_f32", {bind(mm_f32), true}}, {"mm_f16", {bind(mm_f16), true}},
        {"mm_swiglu_q8_0p", {bind(mm_swiglu_q8_0p), true}}, {"mm_swiglu_q4_0p", {bind(mm_swiglu_q4_0p), true}},
        {"mm_swiglu_f32", {bind(mm_swiglu_f32), true}}, {"mm_swiglu_f16", {bind(mm_swiglu_f16), true}},
        {"embed_q8_0p", {bind(embed_q8_0p), false}}, {"embed_q4_0p", {bind(embed_q4_0p), false}},
        {"embed_f32", {bind(embed_f32), false}}, {"embed_f16", {bind(embed_f16), false}},
        {"attention_paged_f32", {bind(attention_paged_f32), true}},
        {"attention_paged_int8", {bind(attention_paged_int8), true}},
        {"attention_paged_f16", {bind(attention_paged_f16), true}},
        {"attention_combine", {bind(attention_combine), false}},
        {"rope_kv_store_f32", {bind(rope_kv_store_f32), true}}, {"rope_kv_store_int8", {bind(rope_kv_store_int8), true}},
        {"rope_kv_store_f16", {bind(rope_kv_store_f16), true}},
        {"rmsnorm_rows", {bind(rmsnorm_rows), true}}, {"argmax_rows", {bind(argmax_rows), true}},
        {"swiglu_rows", {bind(swiglu_rows), false}}, {"add_bias_rows", {bind(add_bias_rows), false}},
        {"gather_rows", {bind(gather_rows), false}},
        {"lora_shrink", {bind(lora_shrink), true}}, {"lora_expand", {bind(lora_expand), false}},
        {"lora_merge_q8_0p", {bind(lora_merge_q8_0p), false}}, {"lora_merge_q4_0p", {bind(lora_merge_q4_0p), false}},
        {"lora_merge_f32", {bind(lora_merge_f32), false}}, {"lora_merge_f16", {bind(lora_merge_f16), false}},
    };
    return t;
}
}  // namespace

// 0 = ok, 1 = unknown kernel, 2 = deadlock (a barrier some threads never reach).
extern "C" int emu_launch(const char* kernel, int gx, int gy, int gz, int bx, int by, int bz, const unsigned char* args) {
    auto it = table().find(kernel);
    if (it == table().end()) return 1;
    const unsigned char* a = args;
    gridDim = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim = {(unsigned)bx, (unsigned)by, (unsigned)bz};
    const Kernel& k = it->second;
    B.body = [&k, a]() { k.run(a); };
    int n = bx * by * bz;
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                blockIdx = {(unsigned)x, (unsigned)y, (unsigned)z};
                if (k.barriers) {
                    if (!runBlock(n)) return 2;
                } else {
                    // no barriers: the threads of the block cannot interact, so they simply run one after another
                    for (int t = 0; t < n; t++) {
                        threadIdx = {(unsigned)(t % bx), (unsigned)((t / bx) % by), (unsigned)(t / (bx * by))};
                        k.run(a);
                    }
                }
            }
    return 0;
}
