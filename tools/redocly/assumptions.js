// Redocly decorator: shows every x-assumption marker on the published page.
// Redoc does not render vendor extensions. A marker (openapi.yaml, "Assumptions") is a
// list of {id, assumes, page, alternative?} on the node it qualifies; this appends each
// as a quoted paragraph to that node's description when the page is built (info,
// operations, parameters, responses, headers, schemas). openapi.yaml is not changed;
// `python tools/assumptions.py` lists the same markers.
function paragraph(marker) {
  const parts = [
    `**Assumption \`${marker.id}\`:** ${marker.assumes}`,
    `*The pages:* ${marker.page}`,
  ];
  if (marker.alternative) parts.push(`*Other reading:* ${marker.alternative}`);
  return `> ${parts.join(' ')}`;
}

function append(node, heading) {
  const markers = node['x-assumption'];
  if (!Array.isArray(markers) || markers.length === 0) return;
  const block = markers.map(paragraph).join('\n>\n');
  const head = node.description ? `${node.description.trimEnd()}\n\n` : '';
  node.description = `${head}${heading}${block}\n`;
}

function Assumptions() {
  const visitor = { leave: (node) => append(node, '') };
  return {
    // The overview's own section, after the others (its description is split into
    // sections by its level-2 headings).
    Info: { leave: (node) => append(node, '## Assumptions of the whole contract\n\n') },
    Operation: visitor,
    Parameter: visitor,
    Response: visitor,
    Header: visitor,
    Schema: visitor,
  };
}

module.exports = function assumptionsPlugin() {
  return {
    id: 'toobit-assumptions',
    decorators: {
      oas3: { 'x-assumption': Assumptions },
    },
  };
};
