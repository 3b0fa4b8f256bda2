package dev.loracle.runtime.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.loracle.runtime.model.GgufFile;
import dev.loracle.runtime.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's chat template ({@code tokenizer.chat_template}, the Hugging Face Jinja template) rendered with Jinjava,
 * configured as Hugging Face renders it ({@code trim_blocks}, {@code lstrip_blocks}), with the names templates use:
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, {@code raise_exception},
 * and Python's string methods ({@code strip}, {@code startswith}, {@code split}, ...) on message text.
 */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = createEngine();

    private final String source;
    private final String bosToken;
    private final String eosToken;

    public ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = JinjaCompat.adapt(Objects.requireNonNull(source, "source"));
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
    }

    /** The template a GGUF file carries, with its vocabulary's BOS/EOS texts; empty when it has none. */
    public static Optional<ChatTemplate> fromGguf(GgufFile f, Tokenizer t) {
        if (!(f.metadata().get("tokenizer.chat_template") instanceof String s) || s.isBlank()) return Optional.empty();
        return Optional.of(new ChatTemplate(s, t.bos() >= 0 ? t.token(t.bos()) : "", t.token(t.eos())));
    }

    public String source() { return source; }

    /**
     * The prompt text for {@code messages}; with {@code addGenerationPrompt} it ends where the assistant's reply
     * begins. A template that raises (e.g. roles out of order) or fails to parse throws {@link ChatTemplateException}.
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (messages.isEmpty()) throw new ChatTemplateException("a chat needs at least one message");
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            Map<String, Object> o = new HashMap<>();
            o.put("role", m.role());
            o.put("content", m.content());
            msgs.add(o);
        }
        Map<String, Object> ctx = new HashMap<>();
        ctx.put("messages", msgs);
        ctx.put("add_generation_prompt", addGenerationPrompt);
        ctx.put("bos_token", bosToken);
        ctx.put("eos_token", eosToken);
        ctx.put("tools", null);
        RenderResult r;
        try {
            r = JINJAVA.renderForResult(source, ctx);
        } catch (FatalTemplateErrorsException e) {
            throw new ChatTemplateException("chat template failed: " + e.getMessage());
        } catch (TemplateRaisedException e) {
            throw new ChatTemplateException("chat template refused the messages: " + e.getMessage());
        } catch (RuntimeException e) {
            TemplateRaisedException raised = raisedCause(e);
            if (raised != null) throw new ChatTemplateException("chat template refused the messages: " + raised.getMessage());
            throw new ChatTemplateException("chat template failed: " + e);
        }
        for (TemplateError err : r.getErrors()) {
            TemplateRaisedException raised = raisedCause(err.getException());
            if (raised != null) throw new ChatTemplateException("chat template refused the messages: " + raised.getMessage());
            if (err.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new ChatTemplateException("chat template failed at line " + err.getLineno() + ": " + err.getMessage());
            }
        }
        return r.getOutput();
    }

    /**
     * The prompt text for the model's reply to {@code messages} (generation prompt added). When the tokenizer adds BOS
     * itself ({@code tokenizerAddsBos}), a BOS the template wrote first is dropped, so the prompt does not start with two.
     */
    public String prompt(List<ChatMessage> messages, boolean tokenizerAddsBos) {
        String p = render(messages, true);
        return tokenizerAddsBos && !bosToken.isEmpty() && p.startsWith(bosToken) ? p.substring(bosToken.length()) : p;
    }

    private static TemplateRaisedException raisedCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof TemplateRaisedException r) return r;
        return null;
    }

    private static Jinjava createEngine() {
        jinjava.javax.el.CompositeELResolver resolver = new jinjava.javax.el.CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(com.hubspot.jinjava.el.JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withElResolver(resolver)
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(1 << 24)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava j = new Jinjava(config);
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", TemplateRaisedException.class, "raise", String.class));
        return j;
    }

    /** What {@code raise_exception(msg)} throws inside a template. */
    public static final class TemplateRaisedException extends RuntimeException {
        TemplateRaisedException(String message) { super(message); }

        public static Object raise(String message) { throw new TemplateRaisedException(message); }
    }
}
