package dev.safemerge.eval.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.tensor.BadInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtocolTest {
    @Test
    void anEvaluationWithoutNewTokensIsBadInput() {
        assertThatThrownBy(() -> new Protocol("study", null, Protocol.STUDY_SAMPLING.withMaxNewTokens(0), List.of()))
                .isInstanceOf(BadInputException.class)
                .hasMessageContaining("at least 1 new token");
        assertThat(new Protocol("study", null, Protocol.STUDY_SAMPLING.withMaxNewTokens(1), List.of())
                        .sampling()
                        .maxNewTokens())
                .isEqualTo(1);
    }
}
