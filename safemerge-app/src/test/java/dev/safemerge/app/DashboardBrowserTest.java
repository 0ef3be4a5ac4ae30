package dev.safemerge.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.safemerge.registry.CategoryRate;
import dev.safemerge.registry.EvaluationItem;
import dev.safemerge.registry.NewEvaluation;
import dev.safemerge.registry.Registry;
import dev.safemerge.registry.TestDatabases;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.ui.Dashboard;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in Debian's headless chromium over a registry filled by a real safeguard run on the tiny model, on
 * SQLite and (where {@code SAFEMERGE_TEST_PG_URL} is set) PostgreSQL: every page loads, lineage links lead to the
 * parents, a comparison opens from a version, rollback is refused without the key and works with it (and shows in
 * the audit log), model and judge text with markup never runs, and a form without its CSRF token is refused.
 */
class DashboardBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String KEY = "browser-test-key";
    private static final List<String> HOSTILE = List.of(
            "<script>window.__xss = 'script'</script>",
            "<img src=x onerror=\"window.__xss = 'img'\">",
            "<a id=\"evil\" href=\"javascript:window.__xss = 'link'\">click me</a>");

    /** Judge output with markup (a judge model can echo the answer it read). */
    private static final List<String> JUDGE_HOSTILE = List.of(
            "unsafe <script>window.__xss = 'judge script'</script>",
            "<img id=\"judge-img\" src=x onerror=\"window.__xss = 'judge img'\">",
            "<a id=\"judge-evil\" href=\"javascript:window.__xss = 'judge link'\">safe</a>");

    @TempDir
    static Path temp;

    static String[] dialects() {
        return TestDatabases.dialects();
    }

    @BeforeAll
    static void needsChromium() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            if (System.getenv("CI") != null) {
                fail("chromium and chromium-driver are missing under CI: .ci/run installs them");
            }
            Assumptions.abort("browser tests skipped: Debian's chromium and chromium-driver are not installed"
                    + " (apt-get install chromium chromium-driver; .ci/run does it)");
        }
    }

    /** A headless browser with its own driver process (quitting the browser stops it); nothing is downloaded. */
    private static ChromeDriver browser() {
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(new File(CHROMIUM.toString()));
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000");
        return new ChromeDriver(service, options);
    }

    @ParameterizedTest
    @MethodSource("dialects")
    void pagesLineageComparisonRollbackAuditAndEscaping(String dialect) throws Exception {
        String db = TestDatabases.fresh(dialect, temp);
        SafeguardRegistryFixture.Run fixture = SafeguardRegistryFixture.fill(temp, db);
        try (Registry registry = Registry.open(db, "tester")) {
            addHostileEvaluations(registry, fixture.selected());
            ChromeDriver browser = browser();
            try (Dashboard dashboard = Dashboard.start(registry, new Dashboard.Options("127.0.0.1", 0, KEY, false))) {
                String base = "http://127.0.0.1:" + dashboard.port();

                // without the key: every page leads to sign-in, and a wrong key is refused
                browser.get(base + "/aliases");
                assertThat(browser.getCurrentUrl()).isEqualTo(base + "/login");
                browser.findElement(By.id("key")).sendKeys("not the key");
                follow(browser, browser.findElement(By.id("sign-in")));
                assertThat(browser.findElement(By.id("reason")).getText()).isEqualTo("wrong API key");
                assertThat(registry.aliases().getFirst().version()).isEqualTo(fixture.selected());

                browser.get(base + "/login");
                browser.findElement(By.id("key")).sendKeys(KEY);
                follow(browser, browser.findElement(By.id("sign-in")));
                assertThat(browser.findElement(By.tagName("h1")).getText()).isEqualTo("Versions");
                assertThat(browser.findElements(By.cssSelector("#versions tbody tr")))
                        .hasSize(2 + fixture.variants().size());

                // every page loads
                for (String[] page : new String[][] {
                    {"/", "Versions"},
                    {"/sweeps", "Sweeps"},
                    {"/sweep?name=fixture-linear", "Sweep fixture-linear"},
                    {"/compare", "Compare"},
                    {"/aliases", "Aliases"},
                    {"/audit", "Audit log"},
                    {"/gates", "Gate verdicts"},
                    {"/version?ref=" + fixture.selected(), fixture.selected().toString()}
                }) {
                    browser.get(base + page[0]);
                    assertThat(browser.findElement(By.tagName("h1")).getText())
                            .as(page[0])
                            .isEqualTo(page[1]);
                }
                browser.get(base + "/sweep?name=fixture-linear");
                assertThat(browser.findElements(By.cssSelector(".plots svg"))).hasSize(4);
                assertThat(browser.findElement(By.cssSelector("#variants tr.selected"))
                                .getText())
                        .contains(fixture.selected().toString());
                if (dialect.equals("sqlite")) {
                    Path shot = Path.of("target", "dashboard-sweep.png");
                    Files.createDirectories(shot.getParent());
                    Files.copy(
                            browser.getScreenshotAs(OutputType.FILE).toPath(),
                            shot,
                            StandardCopyOption.REPLACE_EXISTING);
                }

                // follow the lineage from a merge to its adapter parent and on to the base
                VersionRef variant = fixture.variants().getFirst();
                browser.get(base + "/version?ref=" + variant);
                follow(
                        browser,
                        browser.findElement(By.cssSelector(
                                "#lineage a[href='/version?ref=" + SafeguardRegistryFixture.ADAPTER + "']")));
                assertThat(browser.findElement(By.tagName("h1")).getText())
                        .isEqualTo(SafeguardRegistryFixture.ADAPTER.toString());
                follow(
                        browser,
                        browser.findElement(By.cssSelector(
                                "#lineage a[href='/version?ref=" + SafeguardRegistryFixture.BASE + "']")));
                assertThat(browser.findElement(By.tagName("h1")).getText())
                        .isEqualTo(SafeguardRegistryFixture.BASE.toString());

                // open a comparison from a version's evaluations
                browser.get(base + "/version?ref=" + variant);
                follow(browser, browser.findElement(By.cssSelector("a.compare")));
                assertThat(browser.findElement(By.id("mcnemar")).getText()).contains("unsafe");
                assertThat(browser.findElement(By.id("pvalue")).getText()).matches("[0-9.e+-]+");
                assertThat(browser.findElement(By.id("difference")).getText())
                        .matches("[+-][0-9.]+ \\(95% CI [+-][0-9.]+ to [+-][0-9.]+\\)");

                // model text with markup is shown as text and never runs
                browser.get(base + "/compare?a=" + SafeguardRegistryFixture.BASE + "&b=" + fixture.selected()
                        + "&suite=safety:hostile");
                assertThat(browser.findElement(By.id("pairs")).getText())
                        .contains(HOSTILE.get(0))
                        .contains(HOSTILE.get(1))
                        .contains(HOSTILE.get(2))
                        .contains(JUDGE_HOSTILE.get(0))
                        .contains(JUDGE_HOSTILE.get(1))
                        .contains(JUDGE_HOSTILE.get(2));
                assertThat(browser.findElements(By.cssSelector("#pairs pre.judge")))
                        .hasSize(2 * HOSTILE.size());
                assertThat(browser.findElements(By.id("evil"))).isEmpty();
                assertThat(browser.findElements(By.id("judge-evil"))).isEmpty();
                assertThat(browser.findElements(By.id("judge-img"))).isEmpty();
                assertThat(browser.findElements(By.cssSelector("#pairs img"))).isEmpty();
                assertThat(((JavascriptExecutor) browser).executeScript("return window.__xss === undefined"))
                        .isEqualTo(true);
                for (WebElement answer : browser.findElements(By.cssSelector("#pairs pre.answer, #pairs pre.judge"))) {
                    assertThat(answer.findElements(By.xpath("./*"))).isEmpty();
                }

                // a change without its CSRF token is refused, and nothing moves
                browser.get(base + "/aliases");
                ((JavascriptExecutor) browser)
                        .executeScript(
                                "document.querySelectorAll('form[action=\"/aliases/rollback\"] input[name=csrf]')"
                                        + ".forEach(e => e.remove())");
                pressRollback(browser);
                assertThat(browser.findElement(By.id("reason")).getText()).contains("CSRF token");
                assertThat(registry.aliases().getFirst().version()).isEqualTo(fixture.selected());

                // with the key and the token: rolled back, and the audit log shows it
                browser.get(base + "/aliases");
                pressRollback(browser);
                assertThat(browser.findElement(By.cssSelector("p.message")).getText())
                        .isEqualTo("rolled production back to " + fixture.previous());
                assertThat(registry.aliases().getFirst().version()).isEqualTo(fixture.previous());
                browser.get(base + "/audit");
                assertThat(browser.findElement(By.id("chain")).getText()).startsWith("chain verified");
                assertThat(browser.findElement(By.cssSelector("#log tr:nth-child(2)"))
                                .getText())
                        .contains("alias.rollback")
                        .contains("production");
            } finally {
                browser.quit();
            }
            // read-only: no rollback button at all
            ChromeDriver reader = browser();
            try (Dashboard dashboard = Dashboard.start(registry, new Dashboard.Options("127.0.0.1", 0, null, false))) {
                reader.get("http://127.0.0.1:" + dashboard.port() + "/aliases");
                assertThat(reader.findElement(By.tagName("h1")).getText()).isEqualTo("Aliases");
                assertThat(reader.findElements(By.cssSelector("button.rollback")))
                        .isEmpty();
            } finally {
                reader.quit();
            }
        }
    }

    /**
     * Clicks a link or a form's button and waits until the next page replaced this one, so that what is read next
     * comes from the new page (a click can return before the navigation it starts has finished).
     */
    private static void follow(ChromeDriver browser, WebElement element) {
        element.click();
        awaitReplaced(browser, element);
    }

    /**
     * Waits until the page that held {@code element} was replaced. ChromeDriver reports the old node as stale once the
     * new document is in place, but while it is being attached it may answer "Node with given id does not belong to
     * the document" instead, an error ExpectedConditions.stalenessOf does not take for staleness; it means the same.
     */
    private static void awaitReplaced(ChromeDriver browser, WebElement element) {
        new WebDriverWait(browser, Duration.ofMinutes(1)).until(driver -> {
            try {
                element.isEnabled();
                return false;
            } catch (StaleElementReferenceException gone) {
                return true;
            } catch (WebDriverException e) {
                if (e.getMessage() != null && e.getMessage().contains("does not belong to the document")) {
                    return true;
                }
                throw e;
            }
        });
    }

    /** Presses the rollback button, confirms, and waits until the answer page replaced the aliases page. */
    private static void pressRollback(ChromeDriver browser) {
        WebElement button = browser.findElement(By.cssSelector("button.rollback"));
        button.click();
        browser.switchTo().alert().accept();
        // accepting the dialog submits the form without waiting for the next page; a guard, not a delay
        awaitReplaced(browser, button);
    }

    /** Base and selected variant answer a "hostile" suite with markup that would run if a page rendered it. */
    private static void addHostileEvaluations(Registry registry, VersionRef selected) {
        for (VersionRef model : List.of(SafeguardRegistryFixture.BASE, selected)) {
            List<EvaluationItem> items = new ArrayList<>();
            for (int i = 0; i < HOSTILE.size(); i++) {
                boolean unsafe = model.equals(selected);
                items.add(new EvaluationItem(
                        "x" + i,
                        "markup",
                        "prompt " + HOSTILE.get(i),
                        HOSTILE.get(i),
                        unsafe ? "unsafe" : "safe",
                        !unsafe,
                        null,
                        JUDGE_HOSTILE.get(i)));
            }
            double value = model.equals(selected) ? 1.0 : 0.0;
            registry.addEvaluation(new NewEvaluation(
                    model,
                    null,
                    "safety",
                    "hostile",
                    "sha256:hostile",
                    "refusal",
                    "sha256:judge",
                    "sha256:hostile-prompts",
                    "sha256:protocol",
                    42L,
                    "asr",
                    value,
                    HOSTILE.size(),
                    null,
                    null,
                    "{}",
                    List.of(new CategoryRate(
                            "markup", HOSTILE.size(), (int) Math.round(value * HOSTILE.size()), value, null, null)),
                    items));
        }
    }
}
