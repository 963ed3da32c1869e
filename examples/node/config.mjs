// Where the examples connect: ISMLD_URL (default the `npm run dev` address) and
// ISMLD_TOKEN (e.g. the dev admin token it prints) or ISMLD_LOGIN + ISMLD_SECRET.
const env = process.env;
export const url = env.ISMLD_URL ?? "http://127.0.0.1:8787";
export const credentials = env.ISMLD_LOGIN
  ? { login: env.ISMLD_LOGIN, secret: env.ISMLD_SECRET ?? "" }
  : { token: env.ISMLD_TOKEN ?? "" };
