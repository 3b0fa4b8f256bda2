package dev.loracle.oracle.verify;

import dev.loracle.contracts.NumericProfile;
import dev.loracle.ipfs.AdapterCache;
import dev.loracle.ipfs.FetchLimits;
import dev.loracle.ipfs.IpfsEndpoint;
import dev.loracle.ipfs.IpfsEndpoints;
import dev.loracle.ipfs.ResilienceSettings;
import dev.loracle.ipfs.VerifiedFetcher;
import dev.loracle.oracle.chain.InferenceRequestConverter;
import dev.loracle.oracle.journal.InferenceSpec;
import dev.loracle.oracle.journal.PromptFormat;
import dev.loracle.oracle.pipeline.AdapterService;
import dev.loracle.oracle.pipeline.EngineChatTemplate;
import dev.loracle.oracle.pipeline.PipelineFailure;
import dev.loracle.oracle.pipeline.PromptRenderer;
import dev.loracle.oracle.session.CanonicalHistory;
import dev.loracle.oracle.session.SessionHistory;
import dev.loracle.runtime.engine.AdapterWeight;
import dev.loracle.runtime.engine.AttachMode;
import dev.loracle.runtime.engine.ContextOverflowException;
import dev.loracle.runtime.engine.BackendKind;
import dev.loracle.runtime.engine.EngineConfig;
import dev.loracle.runtime.engine.GenerationRequest;
import dev.loracle.runtime.engine.GenerationResult;
import dev.loracle.runtime.engine.InferenceEngine;
import dev.loracle.runtime.engine.KvCacheType;
import dev.loracle.runtime.engine.SequenceRequest;
import dev.loracle.runtime.lora.WeightedAdapter;
import dev.loracle.runtime.model.WeightFormat;
import dev.loracle.runtime.tokenizer.Tokenizer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Runs a request again on the CPU backend exactly as its registered profile says (weights found in the models
 * directory by their sha256, quantization, attach mode, KV type), with its adapters fetched from IPFS and verified
 * against their CIDs. Returns the regenerated tokens as text pieces, so the first differing token can be named.
 */
final class Reexecution {
    /**
     * The regenerated output, token by token; for a session turn also the length of the rebuilt history it continued
     * and the head over that history, its prompt and the ON-CHAIN output (what the fulfilment should have recorded).
     */
    record Output(List<String> pieces, String text, int historyTokens, byte[] head) {
    }

    /** @param session the turn's session as on-chain, null for an ordinary request */
    static Output run(OnChainResult chain, SessionTurnOnChain session, Path modelsDir, Path tokenizer, String ipfsApi, Path workDir)
            throws OnChainResult.Unavailable, IOException {
        NumericProfile profile;
        try {
            profile = NumericProfile.parse(chain.profile());
        } catch (IllegalArgumentException e) {
            throw new OnChainResult.Unavailable("the registered profile '" + chain.profile() + "' is not understood: " + e.getMessage());
        }
        Path model = findByHash(modelsDir, chain.weightsHash());
        EngineConfig cfg = EngineConfig.of(model).withBackend(BackendKind.CPU);
        try {
            cfg = cfg.withKvCache(KvCacheType.parse(profile.kv()));
        } catch (IllegalArgumentException e) {
            throw new OnChainResult.Unavailable("KV type " + profile.kv() + " is not supported by this build");
        }
        Path tok = tokenizer != null ? tokenizer : siblingTokenizer(model);
        if (tok != null) cfg = cfg.withTokenizer(tok);
        AttachMode mode;
        try {
            mode = AttachMode.valueOf(profile.attach());
        } catch (IllegalArgumentException e) {
            throw new OnChainResult.Unavailable("attach mode " + profile.attach() + " is not supported by this build");
        }
        try (InferenceEngine engine = open(cfg, profile)) {
            InferenceSpec spec = InferenceRequestConverter.toSpec(chain.requestId(), chain.request());
            String promptText = session == null ? prompt(spec, engine) : ""; // a turn is generated from token ids
            List<WeightedAdapter> adapters = fetchAdapters(spec, engine, ipfsApi, workDir);
            GenerationRequest params = new GenerationRequest(promptText, (int) spec.maxTokens(),
                    spec.temperature() / 10_000f, spec.topP() / 10_000f, spec.seed().longValue());
            List<String> pieces = new ArrayList<>();
            if (session == null) {
                GenerationResult r = engine.generate(adapters, mode, params, (token, piece) -> pieces.add(piece));
                return new Output(List.copyOf(pieces), r.text(), 0, null);
            }
            return turn(engine, session, chain, spec, adapters, mode, params, pieces);
        }
    }

    /**
     * A session turn as the node generates it: after the canonical history rebuilt from the chain plus its prompt, as
     * token ids; then the head over those tokens and the on-chain output, as {@code SessionHistory.advance} computes it.
     */
    private static Output turn(InferenceEngine engine, SessionTurnOnChain session, OnChainResult chain, InferenceSpec spec,
                               List<WeightedAdapter> adapters, AttachMode mode, GenerationRequest params, List<String> pieces)
            throws OnChainResult.Unavailable {
        if (spec.promptFormat() == PromptFormat.CHAT) {
            throw new OnChainResult.Unavailable("a CHAT-format session turn: nodes do not serve those (no prefix-stable history)");
        }
        Tokenizer tok = engine.tokenizer();
        if (tok == null) throw new OnChainResult.Unavailable("the model has no tokenizer to rebuild the session's history with");
        int[] history = CanonicalHistory.of(tok, session.earlier());
        int[] promptTokens = CanonicalHistory.withPrompt(tok, history, spec.promptText());
        List<AdapterWeight> held = new ArrayList<>();
        GenerationResult r;
        try {
            for (WeightedAdapter w : adapters) held.add(new AdapterWeight(engine.adapters().load(w.adapter()), w.weight()));
            r = engine.submit(SequenceRequest.of(params).withPromptTokens(promptTokens).withAdapters(held).withMode(mode)
                    .withListener((token, piece) -> pieces.add(piece))).result().join();
        } catch (ContextOverflowException e) {
            throw new OnChainResult.Unavailable("the rebuilt history (" + history.length + " tokens) with this turn does not fit the"
                    + " context: " + e.getMessage());
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        } finally {
            held.forEach(w -> w.adapter().close());
        }
        byte[] head = SessionHistory.advance(tok, chain.profile(), promptTokens,
                new String(chain.output(), StandardCharsets.UTF_8), spec).head();
        return new Output(List.copyOf(pieces), r.text(), history.length, head);
    }

    /** The text the node generated from: RAW as sent, CHAT messages through the model's chat template as the node renders them. */
    static String prompt(InferenceSpec spec, InferenceEngine engine) throws OnChainResult.Unavailable {
        String text = new String(spec.prompt(), StandardCharsets.UTF_8);
        if (spec.promptFormat() != PromptFormat.CHAT) return text;
        var template = EngineChatTemplate.of(engine);
        if (template == null) throw new OnChainResult.Unavailable("a CHAT request, but the model file has no chat template to render it with");
        try {
            return template.apply(PromptRenderer.chatMessages(text));
        } catch (PipelineFailure f) {
            throw new OnChainResult.Unavailable("the chat prompt cannot be rendered (" + f.code() + "): " + f.getMessage());
        }
    }

    /** Opens the model converted to the profile's quantization (or as stored, when that already is it). */
    private static InferenceEngine open(EngineConfig cfg, NumericProfile profile) throws OnChainResult.Unavailable {
        InferenceEngine engine = InferenceEngine.open(cfg);
        String stored = engine.weights().layers().getFirst().wq().type().name();
        if (stored.equals(profile.quant())) return engine;
        engine.close();
        WeightFormat target;
        try {
            target = WeightFormat.parse(profile.quant());
        } catch (IllegalArgumentException e) {
            throw new OnChainResult.Unavailable("the model file is " + stored + " and this build cannot convert it to " + profile.quant());
        }
        return InferenceEngine.open(cfg.withQuant(target));
    }

    private static List<WeightedAdapter> fetchAdapters(InferenceSpec spec, InferenceEngine engine, String ipfsApi, Path workDir)
            throws OnChainResult.Unavailable, IOException {
        ResilienceSettings resilience = ResilienceSettings.defaults();
        try (IpfsEndpoints endpoints = IpfsEndpoints.of(List.of(IpfsEndpoint.rpc("ipfs", URI.create(ipfsApi))), resilience)) {
            long maxBytes = 256L << 20;
            VerifiedFetcher fetcher = VerifiedFetcher.builder().endpoints(endpoints).limits(FetchLimits.ofMaxContentBytes(maxBytes)).build();
            Path cacheDir = Files.createDirectories(workDir.resolve("adapters"));
            try (AdapterCache cache = AdapterCache.builder().directory(cacheDir).maxDiskBytes(4L << 30).maxMemoryBytes(maxBytes)
                    .fetcher(fetcher).build()) {
                return new AdapterService(cache, engine.shape(), engine.adapterLoadOptions(), maxBytes, maxBytes, new SimpleMeterRegistry()).load(spec);
            }
        } catch (PipelineFailure f) {
            throw new OnChainResult.Unavailable("adapters cannot be used (" + f.code() + "): " + f.getMessage());
        } catch (RuntimeException e) {
            throw new OnChainResult.Unavailable("adapters could not be fetched from " + ipfsApi + ": " + e.getMessage());
        }
    }

    /** The model file in {@code dir} (recursively) whose sha256 is {@code weightsHash}. */
    static Path findByHash(Path dir, byte[] weightsHash) throws OnChainResult.Unavailable, IOException {
        if (!Files.isDirectory(dir)) throw new OnChainResult.Unavailable("models directory " + dir + " does not exist (--models)");
        List<Path> candidates;
        try (Stream<Path> walk = Files.walk(dir, 4)) {
            candidates = walk.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".gguf") || (n.endsWith(".bin") && !n.startsWith("tok"));
            }).sorted().toList();
        }
        for (Path p : candidates) {
            if (Arrays.equals(sha256(p), weightsHash)) return p;
        }
        throw new OnChainResult.Unavailable("no model file in " + dir + " has the registered weights hash 0x"
                + java.util.HexFormat.of().formatHex(weightsHash) + " (looked at " + candidates.size() + " files)");
    }

    private static Path siblingTokenizer(Path model) throws IOException {
        if (!model.getFileName().toString().endsWith(".bin")) return null; // GGUF carries its tokenizer
        try (Stream<Path> files = Files.list(model.getParent())) {
            return files.filter(p -> p.getFileName().toString().startsWith("tok") && p.getFileName().toString().endsWith(".bin"))
                    .sorted().findFirst().orElse(null);
        }
    }

    private static byte[] sha256(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return ((DigestInputStream) in).getMessageDigest().digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
