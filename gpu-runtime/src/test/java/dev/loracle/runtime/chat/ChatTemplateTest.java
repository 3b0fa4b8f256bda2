package dev.loracle.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loracle.runtime.model.ArchGolden;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.model.MappedFile;
import dev.loracle.runtime.model.TestModels;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real Llama 3 and Qwen (ChatML, Qwen3 flavour) templates of the fixtures give the prompts those families expect. */
class ChatTemplateTest {
    private static Arena arena;
    private static ChatTemplate llama3, qwen;
    private static Tokenizer llama3Tokenizer;

    @BeforeAll
    static void load() {
        arena = Arena.ofShared();
        GgufFile l = GgufFile.parse(MappedFile.map(ArchGolden.model("llama3-tiny"), arena));
        llama3Tokenizer = Tokenizer.fromGguf(l);
        llama3 = ChatTemplate.fromGguf(l, llama3Tokenizer).orElseThrow();
        GgufFile q = GgufFile.parse(MappedFile.map(ArchGolden.model("qwen2-tiny"), arena));
        qwen = ChatTemplate.fromGguf(q, Tokenizer.fromGguf(q)).orElseThrow();
    }

    @AfterAll
    static void close() { arena.close(); }

    @Test
    void llama3Turns() {
        String p = llama3.render(List.of(ChatMessage.system("You are a poet. "), ChatMessage.user("  Hi\n")), true);
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a poet.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n", p);
        // the rendered prompt tokenizes to control tokens, with the BOS the template wrote (no second one added)
        int[] ids = llama3Tokenizer.encode(p, false, false, true);
        assertEquals(128000, ids[0]);
        assertEquals(128006, ids[1]);
        assertTrue(java.util.Arrays.stream(ids).filter(i -> i == 128009).count() == 2);
    }

    @Test
    void chatPromptTokenizesWithOneBos() {
        List<ChatMessage> chat = List.of(ChatMessage.user("Hi"));
        int[] ids = llama3Tokenizer.encodePrompt(llama3.prompt(chat, llama3Tokenizer.addBos()));
        assertEquals(128000, ids[0]);
        assertEquals(128006, ids[1], "no second BOS");
        assertEquals(qwen.render(chat, true), qwen.prompt(chat, false));
    }

    @Test
    void qwenSystemAndUser() {
        String p = qwen.render(List.of(ChatMessage.system("You are a poet."), ChatMessage.user("Hi")), true);
        assertEquals("<|im_start|>system\nYou are a poet.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", p);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n", qwen.render(List.of(ChatMessage.user("Hi")), false));
    }

    @Test
    void qwenDropsReasoningOfEarlierTurns() {
        // namespace(), messages[::-1], split/lstrip/rstrip/startswith on strings, loop.index0, is defined
        String p = qwen.render(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("<think>\nhmm\n</think>\n\nHello!"),
                ChatMessage.user("Bye")), true);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
                + "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", p);
    }

    @Test
    void qwenFinalAssistantTurnGetsAnEmptyThinkBlock() {
        String p = qwen.render(List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello!")), false);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n", p);
    }

    @Test
    void raiseExceptionBecomesAClearError() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('no tools here') }}"
                + "{% endif %}{{ m.content }}{% endfor %}", "<s>", "</s>");
        assertEquals("ab", t.render(List.of(ChatMessage.user("a"), ChatMessage.assistant("b")), false));
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(List.of(new ChatMessage("tool", "x")), false));
        assertTrue(e.getMessage().contains("no tools here"), e.getMessage());
    }

    @Test
    void loopControlsAndBosToken() {
        ChatTemplate t = new ChatTemplate("{{ bos_token }}{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}"
                + "[{{ m.content | trim }}]{% if loop.index >= 2 %}{% break %}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}>{% endif %}", "<s>", "</s>");
        assertEquals("<s>[a]>", t.render(List.of(ChatMessage.system("s"), ChatMessage.user(" a "), ChatMessage.assistant("b"),
                ChatMessage.user("c")), true));
    }

    @Test
    void pythonStringMethods() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{{ m.content.split(',')|length }}|{{ m.content.split(',', 1)[1] }}|"
                + "{{ m.content.strip('x,') }}|{{ m.content.startswith('x') }}|{{ m.content.upper() }}{% endfor %}", "", "");
        assertEquals("3|a,b|a,b|true|X,A,B", t.render(List.of(ChatMessage.user("x,a,b")), false));
    }

    @Test
    void modelWithoutTemplateHasNone() {
        try (Arena a = Arena.ofConfined()) {
            GgufFile f = GgufFile.parse(MappedFile.map(TestModels.ggufF32(), a));
            assertTrue(ChatTemplate.fromGguf(f, Tokenizer.fromGguf(f)).isEmpty());
        }
    }
}
