// Tailwind CSS v3 configuration (pinned in package.json). The generated
// static/css/app.css is committed so building refit needs no node:
//   npx --no-install tailwindcss -c tailwind.config.js -i static/css/input.css -o static/css/app.css --minify
/** @type {import('tailwindcss').Config} */
module.exports = {
  // Go files are scanned too: view helpers pick class names (badge colours).
  content: ["./views/**/*.templ", "./views/**/*.go"],
  darkMode: "media",
  theme: {
    extend: {},
  },
  plugins: [],
};
