// Redocly decorator: shows ErrorCode's x-error-table on the published page.
// Redoc does not render vendor extensions, and the table is written once, in the
// x-error-table of components.schemas.ErrorCode; this appends it to that schema's
// description as a markdown table when the page is built. openapi.yaml is not changed.
function cell(value) {
  return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function ErrorTable() {
  return {
    Schema: {
      leave(schema) {
        const rows = schema['x-error-table'];
        if (!Array.isArray(rows) || rows.length === 0) return;
        const lines = [
          '| code | name | HTTP | message | meaning |',
          '|---|---|---|---|---|',
          ...rows.map((r) =>
            `| ${cell(r.code)} | \`${cell(r.name)}\` | ${cell(r.status)} | ${cell(r.message)} | ${cell(r.meaning)} |`),
        ];
        const head = schema.description ? `${schema.description.trimEnd()}\n\n` : '';
        schema.description = `${head}${lines.join('\n')}\n`;
      },
    },
  };
}

module.exports = function toobitPlugin() {
  return {
    id: 'toobit',
    decorators: {
      oas3: { 'error-table': ErrorTable },
    },
  };
};
