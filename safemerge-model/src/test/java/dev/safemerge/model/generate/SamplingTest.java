package dev.safemerge.model.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

class SamplingTest {
    @Test
    void eachWitherSetsItsOwnFieldOnly() {
        Sampling s = Sampling.greedy(7)
                .withTemperature(0.7)
                .withTopP(0.9)
                .withTopK(40)
                .withRepetitionPenalty(1.1)
                .withSeed(5)
                .withIgnoreEos(true)
                .withStop(List.of("\n"));
        assertThat(s.temperature()).isEqualTo(0.7);
        assertThat(s.topP()).isEqualTo(0.9);
        assertThat(s.topK()).isEqualTo(40);
        assertThat(s.repetitionPenalty()).isEqualTo(1.1);
        assertThat(s.seed()).isEqualTo(5);
        assertThat(s.maxNewTokens()).isEqualTo(7);
        assertThat(s.ignoreEos()).isTrue();
        assertThat(s.stop()).containsExactly("\n");
        assertThat(s.greedy()).isFalse();
        assertThat(Sampling.greedy(7).greedy()).isTrue();
    }

    @Test
    void outOfRangeValuesAreBadInputNamingTheSetting() {
        Sampling g = Sampling.greedy(1);
        assertThatThrownBy(() -> g.withTemperature(-1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> g.withTemperature(Double.NaN)).isInstanceOf(BadInputException.class);
        assertThatThrownBy(() -> g.withTopP(0))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("top-p");
        assertThatThrownBy(() -> g.withTopP(1.5)).isInstanceOf(BadInputException.class);
        assertThatThrownBy(() -> g.withTopK(-1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("top-k");
        assertThatThrownBy(() -> g.withRepetitionPenalty(0))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("repetition penalty");
        assertThatThrownBy(() -> g.withMaxNewTokens(-1))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("max new tokens");
        assertThatThrownBy(() -> g.withStop(List.of(""))).isInstanceOf(BadInputException.class);
    }

    /** The persisted form (generation cache keys, summary.json "protocol"): field names and order never change. */
    @Test
    void jsonIsThePersistedForm() {
        Sampling study = Sampling.greedy(512).withRepetitionPenalty(1.2).withSeed(42);
        assertThat(study.toJson().toString())
                .isEqualTo("{\"temperature\":0.0,\"top_p\":1.0,\"top_k\":0,\"max_new_tokens\":512,"
                        + "\"repetition_penalty\":1.2,\"seed\":42,\"stop\":[]}");
        assertThat(study.withIgnoreEos(true).toJson().get("ignore_eos").asBoolean())
                .isTrue();
    }

    @Test
    void theBatchKeyIgnoresTheLimitAndStopStrings() {
        Sampling a = Sampling.greedy(5).withStop(List.of("x"));
        assertThat(a.batchKey()).isEqualTo(Sampling.greedy(9).batchKey());
        assertThat(a.batchKey()).isNotEqualTo(a.withSeed(1).batchKey());
    }

    @Test
    void stopCutsAtTheEarliestStopString() {
        assertThat(Sampling.greedy(1).withStop(List.of("c", "b")).applyStop("abcd"))
                .isEqualTo("a");
        assertThat(Sampling.greedy(1).applyStop("abcd")).isEqualTo("abcd");
    }
}
