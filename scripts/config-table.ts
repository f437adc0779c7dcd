// Prints the README's configuration table from the settings in src/config.ts.
import { configTableMarkdown } from '../src/config.js'

process.stdout.write(configTableMarkdown() + '\n')
