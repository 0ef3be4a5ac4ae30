package dev.safemerge.safeguard;

import dev.safemerge.eval.gen.GenerationRequest;
import dev.safemerge.eval.gen.ModelFingerprint;
import dev.safemerge.eval.gen.OpenAiGenerator;
import dev.safemerge.eval.gen.ResponseGenerator;
import dev.safemerge.eval.gen.SpreadGenerator;
import dev.safemerge.model.generate.Sampling;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Generation on OpenAI-compatible servers that all serve the base model: the base by its name, every variant that an
 * adapter expresses as that adapter, loaded on every server with vLLM's dynamic-LoRA API and unloaded when its
 * evaluation ends. Requests are spread over the servers. Answers are cached under the content hash of base and adapter
 * (prefixed {@code served}, so in-process answers are never taken for served ones), not under a server's address.
 */
final class RemoteVariants {
    /** How a variant reaches a server. */
    enum Form {
        /** the served base model itself */
        BASE,
        /** the fine-tune's own adapter */
        ADAPTER,
        /** a linear or task-arithmetic merge of a LoRA fine-tune: the λ-scaled adapter */
        SCALED_ADAPTER,
        /** a full merge (SLERP, TIES, DARE, model_stock) or a full fine-tune: no adapter expresses it */
        FULL
    }

    private final Path base;
    private final List<OpenAiGenerator> servers;

    private RemoteVariants(Path base, List<OpenAiGenerator> servers) {
        this.base = base;
        this.servers = servers;
    }

    /**
     * Contacts every server once: each must answer {@code GET /v1/models} and list the base model (named
     * {@code modelName}, by default the base directory's name as {@code safemerge serve} names it).
     */
    static RemoteVariants connect(SafeguardEndpoints endpoints, Path base) {
        String name = endpoints.modelName() != null
                ? endpoints.modelName()
                : base.getFileName().toString();
        List<OpenAiGenerator> servers = new ArrayList<>();
        for (String url : endpoints.generation()) {
            OpenAiGenerator server = new OpenAiGenerator(endpoints.settings().at(url, name));
            List<String> served = server.servedModels("--endpoint");
            if (!served.contains(name)) {
                throw new BadInputException("--endpoint " + url + " does not serve the base model '" + name
                        + "' (it serves " + served + "); name it with --model-name");
            }
            servers.add(server);
        }
        return new RemoteVariants(base, servers);
    }

    /** Contacts the judge's server once; it must list the judge model. */
    static OpenAiGenerator judge(SafeguardEndpoints endpoints) {
        OpenAiGenerator judge =
                new OpenAiGenerator(endpoints.judgeSettings().at(endpoints.judge(), endpoints.judgeModelName()));
        List<String> served = judge.servedModels("--judge-endpoint");
        if (!served.contains(endpoints.judgeModelName())) {
            throw new BadInputException("--judge-endpoint " + endpoints.judge() + " does not serve '"
                    + endpoints.judgeModelName() + "' (it serves " + served + ")");
        }
        return judge;
    }

    static Form form(SafeguardPlan plan, SafeguardRunner.Variant variant) {
        if (variant.name().equals(VariantResult.BASE)) {
            return Form.BASE;
        }
        if (plan.adapters().isEmpty()) {
            return Form.FULL;
        }
        if (variant.method() == null) {
            return Form.ADAPTER;
        }
        return variant.method().equals("linear") || variant.method().equals("task_arithmetic")
                ? Form.SCALED_ADAPTER
                : Form.FULL;
    }

    /**
     * A generator of the base ({@code adapter} null) or of base + adapter on every server; closing it unloads the
     * adapter again.
     */
    ResponseGenerator open(String variant, Path adapter) {
        String identity = "served " + ModelFingerprint.of(base, adapter);
        if (adapter == null) {
            return new SpreadGenerator(servers, identity);
        }
        // the name carries the content, so that an adapter left loaded by a killed run is the same adapter
        String lora = variant + "-" + identity.substring(identity.length() - 12);
        List<OpenAiGenerator> loaded = new ArrayList<>();
        for (OpenAiGenerator server : servers) {
            server.loadLoraAdapter(lora, adapter);
            loaded.add(server.withModel(lora));
        }
        return new Loaded(new SpreadGenerator(loaded, identity), lora);
    }

    /** A variant's adapter loaded on every server; closing unloads it. */
    private final class Loaded implements ResponseGenerator {
        private final SpreadGenerator spread;
        private final String lora;

        Loaded(SpreadGenerator spread, String lora) {
            this.spread = spread;
            this.lora = lora;
        }

        @Override
        public String modelIdentity() {
            return spread.modelIdentity();
        }

        @Override
        public String describe() {
            return spread.describe();
        }

        @Override
        public void generate(List<GenerationRequest> requests, Sampling params, ResponseSink sink) {
            spread.generate(requests, params, sink);
        }

        @Override
        public void close() {
            servers.forEach(server -> server.unloadLoraAdapter(lora));
        }
    }
}
