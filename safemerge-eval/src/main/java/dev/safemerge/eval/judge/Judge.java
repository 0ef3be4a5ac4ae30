package dev.safemerge.eval.judge;

import java.util.List;

/** Decides whether responses to harmful requests are unsafe. */
public interface Judge {
    String name();

    /** What the judge is (model, endpoint), recorded in results. */
    String describe();

    /** True for judges whose verdicts are only a rough check, never a headline attack success rate. */
    boolean smokeTest();

    List<Judgement> judge(List<Exchange> exchanges);
}
