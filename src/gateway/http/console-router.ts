import express, { Router } from 'express';

/**
 * The web console: static files (the page and its bundle) at /console, and / pointing to it. The
 * page talks to the server only through the public REST API and PosBus, like any other client.
 */
export const consoleRouter = (folders: readonly string[]): Router => {
  const router = Router();
  router.get('/', (_request, response) => response.redirect(302, '/console/'));
  for (const folder of folders)
    router.use(
      '/console',
      express.static(folder, {
        index: 'index.html',
        // The bundle's name does not change with its content: browsers ask again each time.
        cacheControl: true,
        maxAge: 0,
        dotfiles: 'ignore',
      }),
    );
  return router;
};
