import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "no-control-regex": "off",
      // An async function that happens not to await still honours its Promise contract (actions, fakes).
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // scripts/shims/builtin-default-import.mjs gives the CLI bundle node:fs and node:path as a default
    // export only: anything else from them would be undefined there (the build also refuses it).
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        ...[
          // Type-only imports are erased by the build and stay allowed.
          "ImportDeclaration[importKind='value'][source.value=/^node:(fs|path)$/] > ImportSpecifier[importKind='value']",
          "ImportDeclaration[importKind='value'][source.value=/^node:(fs|path)$/] > ImportNamespaceSpecifier",
          "ExportNamedDeclaration[exportKind='value'][source.value=/^node:(fs|path)$/]",
          "ExportAllDeclaration[source.value=/^node:(fs|path)$/]",
        ].map((selector) => ({
          selector,
          message:
            'Import node:fs and node:path by default (`import fs from "node:fs"`): see scripts/shims/builtin-default-import.mjs.',
        })),
      ],
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off", "@typescript-eslint/no-unsafe-member-access": "off" },
  },
  {
    files: ["bin/**/*.js", "bench/floors/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.mjs", "scripts/**", "bench/**"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly" } },
  },
);
