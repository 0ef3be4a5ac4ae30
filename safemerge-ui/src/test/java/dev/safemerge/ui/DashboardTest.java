package dev.safemerge.ui;

import static org.assertj.core.api.Assertions.assertThat;

import dev.safemerge.registry.AuditEntry;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.TestDatabases;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The dashboard over HTTP on both databases: every page, escaping, and the access rules of changes. */
class DashboardTest {
    private static final String KEY = "s3cret-key";
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

    @TempDir
    Path temp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    /** A client with its own cookie jar that does not follow redirects, so that each answer can be checked. */
    private record Client(HttpClient http, String base) {
        static Client of(Dashboard dashboard) {
            return new Client(
                    HttpClient.newBuilder()
                            .cookieHandler(new CookieManager())
                            .followRedirects(HttpClient.Redirect.NEVER)
                            .build(),
                    "http://127.0.0.1:" + dashboard.port());
        }

        HttpResponse<String> get(String path) throws IOException, InterruptedException {
            return http.send(
                    HttpRequest.newBuilder(URI.create(base + path)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        HttpResponse<String> post(String path, Map<String, String> form) throws IOException, InterruptedException {
            String body = form.entrySet().stream()
                    .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                    .collect(Collectors.joining("&"));
            return http.send(
                    HttpRequest.newBuilder(URI.create(base + path))
                            .header("Content-Type", "application/x-www-form-urlencoded")
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        String signIn() throws IOException, InterruptedException {
            assertThat(post("/login", Map.of("key", KEY)).statusCode()).isEqualTo(303);
            Matcher m = CSRF.matcher(get("/aliases").body());
            assertThat(m.find()).as("a signed-in page carries the CSRF token").isTrue();
            return m.group(1);
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void everyPageRendersAndModelTextStaysText(String dialect) throws Exception {
        try (Registry registry = Registry.open(TestDatabases.fresh(dialect, temp), "tester")) {
            SampleRegistry.fill(registry, temp);
            try (Dashboard dashboard = Dashboard.start(registry, new Dashboard.Options("127.0.0.1", 0, null, false))) {
                Client client = Client.of(dashboard);
                Map<String, String> pages = new LinkedHashMap<>();
                for (String path : new String[] {
                    "/",
                    "/version?ref=llama-safe:1",
                    "/sweeps",
                    "/sweep?name=study-linear",
                    "/compare",
                    "/compare?a=llama:1&b=llama-ft:1&suite=safety:harmful",
                    "/aliases",
                    "/audit",
                    "/gates"
                }) {
                    HttpResponse<String> response = client.get(path);
                    assertThat(response.statusCode()).as(path).isEqualTo(200);
                    assertThat(response.headers().firstValue("Content-Security-Policy"))
                            .hasValueSatisfying(csp -> assertThat(csp).contains("script-src 'self'"));
                    pages.put(path, response.body());
                }
                String compare = pages.get("/compare?a=llama:1&b=llama-ft:1&suite=safety:harmful");
                // base: 1 of 8 unsafe, fine-tuned 6 of 8: five prompts newly unsafe, none newly safe
                assertThat(compare).contains("<b id=\"pvalue\">0.06250</b>").contains("newly unsafe");
                // the ASR difference 6/8 − 1/8 with its paired interval over the 8 prompts, and the judge's own words
                assertThat(compare)
                        .contains("rate difference B − A over N 8: <b id=\"difference\">+0.6250 (95% CI ")
                        .contains("judge on llama-ft:1: &lt;");
                assertThat(compare.indexOf("newly unsafe")).isLessThan(compare.indexOf("class=\"same\""));
                for (String page : pages.values()) {
                    assertThat(page)
                            .doesNotContain("<script>window")
                            .doesNotContain("<img src=x")
                            .doesNotContain("<a id=\"evil\"");
                }
                assertThat(compare)
                        .contains("&lt;script&gt;window.__xss")
                        .contains("&lt;img src=x onerror=")
                        .contains("&lt;a id=\"evil\" href=\"javascript:");
                assertThat(pages.get("/version?ref=llama-safe:1"))
                        .contains("<svg id=\"lineage\"")
                        .contains("href=\"/version?ref=llama:1\"")
                        .contains("href=\"/version?ref=llama-ft:1\"")
                        .contains("&lt;script&gt;"); // the model card
                String sweep = pages.get("/sweep?name=study-linear");
                assertThat(sweep.split("<svg ", -1)).hasSize(5); // ASR, over-refusal, task against λ; the trade-off
                // the selection is the newest passing "selection" verdict; base and fine-tuned end the lines
                assertThat(sweep)
                        .contains("selected: <b>llama-safe:1</b>")
                        .contains("<tr class=\"selected\"><td><a href=\"/version?ref=llama-safe:1\">")
                        // (ASR, task): base (.125, .75), llama-safe:1 (.25, 1) dominates llama-safe:2 (.5, 1)
                        .contains("<tr class=\"dominated\"><td><a href=\"/version?ref=llama-safe:2\">")
                        .contains("<td>base</td><td>0.00</td>")
                        .contains("<td>fine-tuned</td><td>1.00</td>");
                assertThat(pages.get("/audit")).contains("chain verified");
                assertThat(pages.get("/aliases")).contains("production").contains("llama-safe:2");
                // read-only: no forms that change anything, and changes are refused
                assertThat(pages.get("/aliases")).doesNotContain("/aliases/rollback");
                assertThat(client.post("/aliases/rollback", Map.of("alias", "production", "csrf", "x"))
                                .statusCode())
                        .isEqualTo(403);
                assertThat(client.get("/aliases/rollback").statusCode()).isEqualTo(405);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void changesNeedTheKeyAndTheSessionsCsrfTokenAndAreAudited(String dialect) throws Exception {
        try (Registry registry = Registry.open(TestDatabases.fresh(dialect, temp), "tester")) {
            SampleRegistry.fill(registry, temp);
            try (Dashboard dashboard = Dashboard.start(registry, new Dashboard.Options("127.0.0.1", 0, KEY, false))) {
                Client anonymous = Client.of(dashboard);
                assertThat(anonymous.get("/").statusCode()).isEqualTo(303);
                assertThat(anonymous.get("/").headers().firstValue("Location")).hasValue("/login");
                assertThat(anonymous.get("/login").statusCode()).isEqualTo(200);
                assertThat(anonymous.post("/login", Map.of("key", "wrong")).statusCode())
                        .isEqualTo(401);
                assertThat(anonymous
                                .post("/aliases/rollback", Map.of("alias", "production", "csrf", "guess"))
                                .statusCode())
                        .isEqualTo(401);

                Client signedIn = Client.of(dashboard);
                String token = signedIn.signIn();
                assertThat(signedIn.post("/aliases/rollback", Map.of("alias", "production"))
                                .statusCode())
                        .as("no CSRF token")
                        .isEqualTo(403);
                assertThat(signedIn.post("/aliases/rollback", Map.of("alias", "production", "csrf", token + "x"))
                                .statusCode())
                        .as("a wrong CSRF token")
                        .isEqualTo(403);
                // another session's token is not this session's
                String otherToken = Client.of(dashboard).signIn();
                assertThat(signedIn.post("/aliases/rollback", Map.of("alias", "production", "csrf", otherToken))
                                .statusCode())
                        .isEqualTo(403);
                synchronized (registry) {
                    assertThat(registry.alias("production", null).version()).isEqualTo(SampleRegistry.HIGH);
                }

                HttpResponse<String> rolledBack =
                        signedIn.post("/aliases/rollback", Map.of("alias", "production", "csrf", token));
                assertThat(rolledBack.statusCode()).isEqualTo(303);
                assertThat(signedIn.get(rolledBack
                                        .headers()
                                        .firstValue("Location")
                                        .orElseThrow())
                                .body())
                        .contains("rolled production back to llama-safe:1");
                HttpResponse<String> tagged =
                        signedIn.post("/tags", Map.of("ref", "llama-safe:2", "tag", "<b>reviewed", "csrf", token));
                assertThat(tagged.statusCode()).isEqualTo(303);
                synchronized (registry) {
                    assertThat(registry.alias("production", null).version()).isEqualTo(SampleRegistry.LOW);
                    assertThat(registry.log()).extracting(AuditEntry::action).contains("alias.rollback", "tag.add");
                    assertThat(registry.verify().ok()).isTrue();
                }
                // the rollback pinned the alias: moving it back needs the override, which the history keeps
                HttpResponse<String> moved = signedIn.post(
                        "/aliases/move",
                        Map.of(
                                "alias", "production",
                                "target", "llama-safe:2",
                                "override", "on",
                                "reason", "reviewed",
                                "csrf", token));
                assertThat(moved.statusCode()).isEqualTo(303);
                synchronized (registry) {
                    assertThat(registry.alias("production", null).version()).isEqualTo(SampleRegistry.HIGH);
                    assertThat(registry.aliasHistory("production").getLast().override())
                            .isTrue();
                }
                String audit = signedIn.get("/audit").body();
                assertThat(audit)
                        .contains("alias.rollback")
                        .contains("&lt;b&gt;reviewed")
                        .doesNotContain("<b>reviewed");
                assertThat(signedIn.post(
                                        "/aliases/move",
                                        Map.of("alias", "production", "target", "nope:1", "csrf", token))
                                .statusCode())
                        .as("bad input is a 400 page naming it")
                        .isEqualTo(400);
            }
            try (Dashboard dashboard = Dashboard.start(registry, new Dashboard.Options("127.0.0.1", 0, KEY, true))) {
                Client reader = Client.of(dashboard);
                assertThat(reader.get("/").statusCode()).isEqualTo(200);
                assertThat(reader.post("/aliases/rollback", Map.of("alias", "production", "csrf", "x"))
                                .statusCode())
                        .isEqualTo(401);
            }
        }
    }
}
