package dev.safemerge.app;

import java.util.List;

/** Every subcommand of the command line, in the order {@code --help} lists them. */
final class Subcommands {
    private Subcommands() {}

    static List<Object> all() {
        return List.of(
                new InspectCommand(),
                new MergeCommand(),
                new ForwardCommand(),
                new TokenizeCommand(),
                new GenerateCommand(),
                new ChatCommand(),
                new ServeCommand(),
                new UiCommand(),
                new FinetuneCommand(),
                new EvalCommand(),
                new SafeguardCommand(),
                new RegistryCommand(),
                new CompareCommand(),
                new GateCommand(),
                new DemoCommand());
    }
}
