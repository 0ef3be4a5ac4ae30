package dev.safemerge.eval.gen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.safemerge.eval.run.Protocol;
import dev.safemerge.tensor.BadInputException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpreadGeneratorTest {
    @Test
    void requestsAlternateOverTheBackendsAndAnswersKeepTheirIndex() throws Exception {
        try (FakeOpenAiServer a = new FakeOpenAiServer();
                FakeOpenAiServer b = new FakeOpenAiServer()) {
            SpreadGenerator spread = new SpreadGenerator(
                    List.of(
                            new OpenAiGenerator(OpenAiGenerator.Options.defaults(a.url(), "m")),
                            new OpenAiGenerator(OpenAiGenerator.Options.defaults(b.url(), "m"))),
                    "served sha256:x");
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                requests.add(new GenerationRequest.Raw("p" + i));
            }
            assertThat(spread.generateAll(requests, Protocol.STUDY_SAMPLING))
                    .containsExactly("echo: p0", "echo: p1", "echo: p2", "echo: p3", "echo: p4");
            assertThat(a.bodies().stream().map(body -> body.get("prompt").asText()))
                    .containsExactlyInAnyOrder("p0", "p2", "p4");
            assertThat(b.bodies().stream().map(body -> body.get("prompt").asText()))
                    .containsExactlyInAnyOrder("p1", "p3");
            assertThat(spread.modelIdentity()).isEqualTo("served sha256:x");
        }
    }

    @Test
    void aFailingBackendFailsTheCall() throws Exception {
        try (FakeOpenAiServer a = new FakeOpenAiServer();
                FakeOpenAiServer b = new FakeOpenAiServer()) {
            b.then(400, "{\"error\": \"no\"}");
            SpreadGenerator spread = new SpreadGenerator(
                    List.of(
                            new OpenAiGenerator(OpenAiGenerator.Options.defaults(a.url(), "m")),
                            new OpenAiGenerator(OpenAiGenerator.Options.defaults(b.url(), "m"))),
                    "served sha256:x");
            assertThatThrownBy(() -> spread.generateAll(
                            List.of(new GenerationRequest.Raw("p0"), new GenerationRequest.Raw("p1")),
                            Protocol.STUDY_SAMPLING))
                    .isInstanceOf(BadInputException.class)
                    .hasMessageContaining("refused the request");
        }
    }
}
