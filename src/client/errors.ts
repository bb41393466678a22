// Errors of the service layer, each with the HTTP status and CLI exit code it means. Input problems are the
// domain's InvalidInputError (400 / exit 2).

/** No such workflow or schedule (404 / exit 3). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The request was understood but refused: an update's validator said no, the workflow is not running (409 / exit 4). */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}
